import { beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  applyCrd,
  createTestNamespace,
  GROUP,
  kubeClients,
  PLURAL,
  readYamlDocuments,
  VERSION,
  withStatusMessage,
} from '../support/kube.js';
import { REJECTED_SPECS as rejected } from '../fixtures/rejected-specs.js';

type ExternalSecretManifest = KubernetesObject & { spec?: object; secretDescriptor?: object };

const seedExamples = readYamlDocuments<ExternalSecretManifest>(
  new URL('../fixtures/seed-examples.yaml', import.meta.url),
);
const deprecatedForms = readYamlDocuments<ExternalSecretManifest>(
  new URL('../fixtures/deprecated-forms.yaml', import.meta.url),
);

describe('the ExternalSecret CRD on a real API server', () => {
  const clients = kubeClients();
  let namespace: string;

  beforeAll(async () => {
    await applyCrd(clients);
    namespace = await createTestNamespace('crd');
  });

  const create = (manifest: object) =>
    withStatusMessage(
      clients.customObjects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: manifest,
      }) as Promise<ExternalSecretManifest>,
    );

  const read = (name: string) =>
    clients.customObjects.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
    }) as Promise<ExternalSecretManifest>;

  it.each(
    [...seedExamples, ...deprecatedForms].map((manifest) => [manifest.metadata!.name, manifest] as const),
  )('accepts %s and keeps every field', async (name, manifest) => {
    await create(manifest);
    const stored = await read(name!);
    expect(stored.spec).toEqual(manifest.spec);
    expect(stored.secretDescriptor).toEqual(manifest.secretDescriptor);
  });

  const base = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ExternalSecret' };

  it.each(['0', '30s', '15m', '1h', '1h30m', '1.5h', '2m30s'])(
    'accepts refreshInterval %s and shows it in the printer columns',
    async (refreshInterval) => {
      const name = `interval-${refreshInterval.replace('.', '-').toLowerCase()}`;
      await create({ ...base, metadata: { name }, spec: { backendType: 'vault', refreshInterval } });
      expect((await read(name)).spec).toMatchObject({ refreshInterval });
    },
  );

  it.each(rejected)('rejects %s with a clear message', async (_, spec, message) => {
    await expect(create({ ...base, metadata: { name: 'invalid' }, spec })).rejects.toThrow(message);
  });

  it('rejects an object with neither spec nor secretDescriptor', async () => {
    await expect(create({ ...base, metadata: { name: 'empty' } })).rejects.toThrow(
      /an ExternalSecret needs a spec \(or the deprecated secretDescriptor\)/,
    );
  });
});
