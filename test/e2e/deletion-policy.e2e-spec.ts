import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  applyCrd,
  CRD_NAME,
  createExternalSecret,
  createTestNamespace,
  eventually,
  GROUP,
  kubeClients,
  PLURAL,
  readSecretData,
  replaceExternalSecretSpec,
  VERSION,
} from '../support/kube.js';

const MANAGED_LABEL = 'app.kubernetes.io/managed-by';
const OWNER_ANNOTATION = 'kubernetes-client.io/external-secret';

describe('spec.deletionPolicy and DEFAULT_DELETION_POLICY', () => {
  const clients = kubeClients();
  const id = Math.random().toString(36).slice(2, 8);
  const key = `deletion-${id}/password`;
  let namespace: string;
  let controller: ControllerProcess;

  const spec = (deletionPolicy?: string) => ({
    backendType: 'secretsManager',
    deletionPolicy,
    data: [{ key, name: 'password' }],
  });
  const secretOf = async (name: string) => (await readSecretData(clients, namespace, name))?.secret;
  const deleteExternalSecret = (name: string, inNamespace = namespace) =>
    clients.customObjects.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: inNamespace,
      name,
    });
  const secretEvents = async (inNamespace: string, name: string) =>
    (
      await clients.core.listNamespacedEvent({
        namespace: inNamespace,
        fieldSelector: `involvedObject.kind=Secret,involvedObject.name=${name}`,
      })
    ).items.map((event) => `${event.type} ${event.reason}: ${event.message}`);

  beforeAll(async () => {
    namespace = await createTestNamespace('deletion');
    await putSecret(key, 'kept-1');
    controller = await ControllerProcess.start({
      POLLER_INTERVAL_MILLISECONDS: '2000',
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
  });

  it('Retain: no owner reference; deleting the ExternalSecret keeps the Secret, lets go of it and says so on it', async () => {
    await createExternalSecret(clients, namespace, { metadata: { name: 'kept' }, spec: spec('Retain') });
    const synced = await eventually('the retained Secret', async () => secretOf('kept'));
    expect(synced.metadata!.ownerReferences ?? []).toEqual([]);
    expect(synced.metadata!.labels![MANAGED_LABEL]).toBe('kubernetes-external-secrets');
    expect(synced.metadata!.annotations![OWNER_ANNOTATION]).toBe('kept');

    await deleteExternalSecret('kept');
    const released = await eventually('the Secret let go of', async () => {
      const secret = await secretOf('kept');
      return secret && !secret.metadata!.labels?.[MANAGED_LABEL] ? secret : undefined;
    });
    expect(released.metadata!.annotations?.[OWNER_ANNOTATION]).toBeUndefined();
    expect(Buffer.from(released.data!.password!, 'base64').toString()).toBe('kept-1');
    expect(released.metadata!.uid).toBe(synced.metadata!.uid);
    const events = await eventually('the Retained Event on the Secret', async () => {
      const found = await secretEvents(namespace, 'kept');
      return found.length > 0 ? found : undefined;
    });
    expect(events).toEqual([
      `Normal Retained: ExternalSecret ${namespace}/kept was deleted; deletionPolicy Retain keeps this Secret, no longer managed by the controller`,
    ]);
    // Nothing manages it now: the garbage collector has no owner to follow, and the controller writes nothing.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await secretOf('kept'))?.metadata!.resourceVersion).toBe(released.metadata!.resourceVersion);
  });

  it('switching Delete → Retain → Delete moves the owner reference; Delete then garbage-collects the Secret', async () => {
    await createExternalSecret(clients, namespace, { metadata: { name: 'switch' }, spec: spec() });
    const owned = await eventually('the owned Secret', async () => {
      const secret = await secretOf('switch');
      return secret?.metadata!.ownerReferences?.length ? secret : undefined;
    });
    expect(owned.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'ExternalSecret',
      name: 'switch',
      controller: true,
    });

    await replaceExternalSecretSpec(clients, namespace, 'switch', spec('Retain'));
    const retained = await eventually('the owner reference removed', async () => {
      const secret = await secretOf('switch');
      return secret && !secret.metadata!.ownerReferences?.length ? secret : undefined;
    });
    expect(retained.metadata!.annotations![OWNER_ANNOTATION]).toBe('switch');

    await replaceExternalSecretSpec(clients, namespace, 'switch', spec('Delete'));
    const ownedAgain = await eventually('the owner reference back', async () => {
      const secret = await secretOf('switch');
      return secret?.metadata!.ownerReferences?.length ? secret : undefined;
    });
    expect(ownedAgain.metadata!.annotations?.[OWNER_ANNOTATION]).toBeUndefined();
    expect(ownedAgain.metadata!.uid).toBe(owned.metadata!.uid);

    await deleteExternalSecret('switch');
    await eventually('the Secret garbage-collected', async () =>
      (await secretOf('switch')) === undefined ? true : undefined,
    );
  });

  it('DEFAULT_DELETION_POLICY=Retain applies to objects without the field; an ExternalSecret deleted while no controller ran is released at start', async () => {
    const other = await createTestNamespace('deletion-default');
    const env = {
      POLLER_INTERVAL_MILLISECONDS: '2000',
      WATCHED_NAMESPACES: other,
      DEFAULT_DELETION_POLICY: 'Retain',
    };
    let retaining = await ControllerProcess.start(env);
    try {
      await retaining.waitHealthy('/readyz');
      await createExternalSecret(clients, other, { metadata: { name: 'by-default' }, spec: spec() });
      const synced = await eventually('the Secret, retained by default', async () => {
        const found = await readSecretData(clients, other, 'by-default');
        return found?.secret;
      });
      expect(synced.metadata!.ownerReferences ?? []).toEqual([]);
      expect(synced.metadata!.annotations![OWNER_ANNOTATION]).toBe('by-default');

      await retaining.stop();
      await deleteExternalSecret('by-default', other);
      retaining = await ControllerProcess.start(env);
      const released = await eventually('released at start', async () => {
        const secret = (await readSecretData(clients, other, 'by-default'))?.secret;
        return secret && !secret.metadata!.labels?.[MANAGED_LABEL] ? secret : undefined;
      });
      expect(released.metadata!.uid).toBe(synced.metadata!.uid);
      expect(await secretEvents(other, 'by-default')).toHaveLength(1);
    } finally {
      await retaining.stop().catch(() => undefined);
    }
  });
  it('deleting the CRD (every ExternalSecret with it): Retain Secrets stay, Delete Secrets are garbage-collected', async () => {
    await createExternalSecret(clients, namespace, { metadata: { name: 'crd-kept' }, spec: spec('Retain') });
    await createExternalSecret(clients, namespace, { metadata: { name: 'crd-owned' }, spec: spec('Delete') });
    const kept = await eventually('both synced', async () =>
      (await secretOf('crd-owned')) ? await secretOf('crd-kept') : undefined,
    );
    try {
      await clients.apiextensions.deleteCustomResourceDefinition({ name: CRD_NAME });
      await eventually(
        'the CRD gone',
        async () =>
          (await clients.apiextensions.readCustomResourceDefinition({ name: CRD_NAME }).then(
            () => false,
            () => true,
          ))
            ? true
            : undefined,
        60_000,
      );
      await eventually('the owned Secret garbage-collected', async () =>
        (await secretOf('crd-owned')) === undefined ? true : undefined,
      );
      const survivor = await eventually('the retained Secret let go of', async () => {
        const secret = await secretOf('crd-kept');
        return secret && !secret.metadata!.labels?.[MANAGED_LABEL] ? secret : undefined;
      });
      expect(survivor.metadata!.uid).toBe(kept.metadata!.uid);
      expect(Buffer.from(survivor.data!.password!, 'base64').toString()).toBe('kept-1');
    } finally {
      await applyCrd(clients);
    }
  });
});
