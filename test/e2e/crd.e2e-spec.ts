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

type ExternalSecretManifest = KubernetesObject & { spec?: object; secretDescriptor?: object };

const seedExamples = readYamlDocuments<ExternalSecretManifest>(
  new URL('../fixtures/seed-examples.yaml', import.meta.url),
);
const deprecatedForms = readYamlDocuments<ExternalSecretManifest>(
  new URL('../fixtures/deprecated-forms.yaml', import.meta.url),
);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
  const rejected: Array<[string, object, RegExp]> = [
    [
      'a data item with neither key and name nor path',
      { backendType: 'secretsManager', data: [{ key: 'only-a-key' }] },
      /each data item needs key and name, or path \(SSM\), but not both/,
    ],
    [
      'a data item with both key and path',
      { backendType: 'systemManager', data: [{ key: '/a', name: 'a', path: '/b' }] },
      /each data item needs key and name, or path \(SSM\), but not both/,
    ],
    [
      'an unknown backendType',
      { backendType: 'azureKeyVault', data: [{ key: 'a', name: 'a' }] },
      /spec\.backendType: Unsupported value: "azureKeyVault"/,
    ],
    [
      'a kvVersion of 3',
      { backendType: 'vault', kvVersion: 3, data: [{ key: 'secret/data/a', name: 'a' }] },
      /spec\.kvVersion: Unsupported value: 3/,
    ],
    [
      'kvVersion on an AWS backend',
      { backendType: 'secretsManager', kvVersion: 2, data: [{ key: 'a', name: 'a' }] },
      /kvVersion applies only to backendType vault/,
    ],
    ['a spec without backendType', { data: [{ key: 'a', name: 'a' }] }, /spec\.backendType: Required value/],
    [
      'versionStage together with versionId',
      {
        backendType: 'secretsManager',
        data: [{ key: 'a', name: 'a', versionStage: 'AWSCURRENT', versionId: 'x' }],
      },
      /give versionStage or versionId, not both/,
    ],
    [
      'recursive on a key item',
      { backendType: 'systemManager', data: [{ key: '/a', name: 'a', recursive: true }] },
      /recursive applies only to a path item/,
    ],
    [
      'a dataFromWithOptions item without key',
      { backendType: 'secretsManager', dataFromWithOptions: [{ isBinary: true }] },
      /dataFromWithOptions\[0\]\.key: Required value/,
    ],
    ...['1d', '10', '-5s', '1h 30m', 'PT1H', 'soon'].map((refreshInterval): [string, object, RegExp] => [
      `refreshInterval ${refreshInterval}`,
      { backendType: 'secretsManager', refreshInterval, data: [{ key: 'a', name: 'a' }] },
      new RegExp(
        escapeRegExp(
          `spec.refreshInterval: Invalid value: "${refreshInterval}": must be a duration such as 30s, 15m or 1h30m, or 0 (never refresh)`,
        ),
      ),
    ]),
    [
      'deletionPolicy Orphan',
      { backendType: 'secretsManager', deletionPolicy: 'Orphan' },
      /spec\.deletionPolicy: Unsupported value: "Orphan": supported values: "Delete", "Retain"/,
    ],
    [
      'a rollout restart target of kind Pod',
      { backendType: 'secretsManager', rolloutRestartTargets: [{ kind: 'Pod', name: 'web' }] },
      /spec\.rolloutRestartTargets\[0\]\.kind: Unsupported value: "Pod": supported values: "Deployment", "StatefulSet", "DaemonSet"/,
    ],
    [
      'a rollout restart target without a name',
      { backendType: 'secretsManager', rolloutRestartTargets: [{ kind: 'Deployment' }] },
      /spec\.rolloutRestartTargets\[0\]\.name: Required value/,
    ],
  ];

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
