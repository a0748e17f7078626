import { randomBytes } from 'node:crypto';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import { CONTROLLER_USER_AGENT } from '../../src/kubernetes/pooled-kube-config.js';
import {
  apiAuditMark,
  apiRequestsSince,
  createExternalSecret,
  createTestNamespace,
  eventsOf,
  eventually,
  kubeClients,
  readExternalSecret,
  readSecretData,
  replaceExternalSecretSpec,
  waitForStatus,
} from '../support/kube.js';

/**
 * Changes Kubernetes will not make in place (a Secret's type, the data of an immutable Secret) and changes made
 * to a managed Secret behind the controller's back, against the real API server. Polling is off: everything here
 * must happen on events alone.
 */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('replacing and repairing managed Secrets (API server, moto)', () => {
  const clients = kubeClients();
  const proxy = new CountingAwsProxy();
  const id = randomBytes(3).toString('hex');
  let controller: ControllerProcess;
  let namespace: string;

  const secretOf = (name: string) =>
    eventually(`Secret ${namespace}/${name}`, async () => readSecretData(clients, namespace, name));
  const patchSecret = (name: string, patch: object) =>
    clients.core.patchNamespacedSecret(
      { name, namespace, body: patch },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  beforeAll(async () => {
    namespace = await createTestNamespace('repair');
    const endpoint = await proxy.start();
    controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: endpoint,
      DISABLE_POLLING: 'true',
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await proxy.stop();
  });

  it('replaces a Secret whose type changes, keeping data, owner, and the labels other tools added', async () => {
    const key = `tls-${id}`;
    await putSecret(key, JSON.stringify({ 'tls.crt': 'certificate', 'tls.key': 'private-key' }));
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'web-tls' },
      spec: {
        backendType: 'secretsManager',
        dataFrom: [key],
        template: { metadata: { labels: { tier: 'web' } } },
      },
    });
    await waitForStatus(clients, namespace, 'web-tls', 'SUCCESS');
    const before = (await secretOf('web-tls')).secret;
    expect(before.type).toBe('Opaque');
    await patchSecret('web-tls', {
      metadata: { labels: { 'other-tool': 'kept' }, annotations: { note: 'kept' } },
    });

    const spec = (await readExternalSecret(clients, namespace, 'web-tls')).spec!;
    await replaceExternalSecretSpec(clients, namespace, 'web-tls', {
      ...spec,
      template: { ...(spec.template as object), type: 'kubernetes.io/tls' },
    });
    const after = await eventually('the Secret replaced with the new type', async () => {
      const current = await readSecretData(clients, namespace, 'web-tls');
      return current?.secret.type === 'kubernetes.io/tls' ? current : undefined;
    });
    expect(after.secret.metadata?.uid).not.toBe(before.metadata?.uid);
    expect(after.data).toEqual({ 'tls.crt': 'certificate', 'tls.key': 'private-key' });
    expect(after.secret.metadata?.labels).toMatchObject({
      tier: 'web',
      'other-tool': 'kept',
      'app.kubernetes.io/managed-by': 'kubernetes-external-secrets',
    });
    expect(after.secret.metadata?.annotations).toMatchObject({ note: 'kept' });
    expect(after.secret.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'ExternalSecret',
      name: 'web-tls',
    });
    await waitForStatus(clients, namespace, 'web-tls', 'SUCCESS');
    // The event names the keys too (" (added …; changed …)"), checked where the keys are the point.
    expect(await eventsOf(clients, namespace, 'web-tls')).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${escapeRegExp(`Normal Replaced: Secret ${namespace}/web-tls replaced: its type changes from Opaque to kubernetes.io/tls, and a Secret's type is immutable`)}( \\(.*\\))?$`,
        ),
      ),
    );
  });

  it('never replaces a Secret of the same name that it does not manage', async () => {
    await clients.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'helm-made', labels: { 'app.kubernetes.io/managed-by': 'Helm' } },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from('c').toString('base64'),
          'tls.key': Buffer.from('k').toString('base64'),
        },
      },
    });
    const before = (await secretOf('helm-made')).secret;
    const key = `clash-${id}`;
    await putSecret(key, 'opaque-value');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'helm-made' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'value' }] },
    });
    const failed = await waitForStatus(clients, namespace, 'helm-made', 'ERROR');
    expect(failed.status?.status).toContain('exists that this ExternalSecret does not manage');
    const kept = (await readSecretData(clients, namespace, 'helm-made'))!;
    expect(kept.secret.metadata?.uid).toBe(before.metadata?.uid);
    expect(kept.secret.type).toBe('kubernetes.io/tls');
  });

  it('keeps the old Secret when the new type would be refused (a TLS Secret without tls.key)', async () => {
    const key = `plain-${id}`;
    await putSecret(key, 'just-a-password');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'not-tls' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'password' }] },
    });
    await waitForStatus(clients, namespace, 'not-tls', 'SUCCESS');
    const before = (await secretOf('not-tls')).secret;
    await replaceExternalSecretSpec(clients, namespace, 'not-tls', {
      backendType: 'secretsManager',
      data: [{ key, name: 'password' }],
      template: { type: 'kubernetes.io/tls' },
    });
    const failed = await waitForStatus(clients, namespace, 'not-tls', 'ERROR');
    expect(failed.status?.status).toMatch(
      /^ERROR, create secrets .*\/not-tls \(dry run\): 422 Invalid: .*tls\.(crt|key)/,
    );
    expect(failed.status?.status).not.toContain('\n');
    const kept = (await readSecretData(clients, namespace, 'not-tls'))!;
    expect(kept.secret.metadata?.uid).toBe(before.metadata?.uid);
    expect(kept.data).toEqual({ password: 'just-a-password' });
  });

  it('replaces an immutable Secret when its data changes', async () => {
    const key = `frozen-${id}`;
    await putSecret(key, 'v1');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'frozen' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'value' }], template: { immutable: true } },
    });
    await waitForStatus(clients, namespace, 'frozen', 'SUCCESS');
    const before = (await secretOf('frozen')).secret;
    expect(before.immutable).toBe(true);
    await updateSecret(key, 'v2');
    // Polling is off: a spec change (here an annotation in the template) makes the controller read again.
    await replaceExternalSecretSpec(clients, namespace, 'frozen', {
      backendType: 'secretsManager',
      data: [{ key, name: 'value' }],
      template: { immutable: true, metadata: { annotations: { rotated: 'yes' } } },
    });
    const after = await eventually('the immutable Secret replaced', async () => {
      const current = await readSecretData(clients, namespace, 'frozen');
      return current?.data.value === 'v2' ? current : undefined;
    });
    expect(after.secret.immutable).toBe(true);
    expect(after.secret.metadata?.uid).not.toBe(before.metadata?.uid);
    // The event names the keys too (" (added …; changed …)"), checked where the keys are the point.
    expect(await eventsOf(clients, namespace, 'frozen')).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${escapeRegExp(`Normal Replaced: Secret ${namespace}/frozen replaced: its data changes, and the Secret is immutable`)}( \\(.*\\))?$`,
        ),
      ),
    );
  });

  it('restores a Secret edited by hand within a second, from cached values, and ignores its own writes', async () => {
    const key = `drift-${id}`;
    await putSecret(key, JSON.stringify({ user: 'app', password: 'correct' }));
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'drift' },
      spec: { backendType: 'secretsManager', dataFrom: [key] },
    });
    await waitForStatus(clients, namespace, 'drift', 'SUCCESS');
    await secretOf('drift');
    const callsBefore = proxy.count('BatchGetSecretValue') + proxy.count('GetSecretValue');

    const restoredWithin = async (what: string, edit: () => Promise<unknown>) => {
      const editedAt = Date.now();
      await edit();
      await eventually(
        what,
        async () => {
          const current = await readSecretData(clients, namespace, 'drift');
          return current?.data.password === 'correct' && current.data.user === 'app' ? true : undefined;
        },
        5_000,
      );
      return Date.now() - editedAt;
    };
    // A value changed by hand, then a key removed by hand (a JSON patch that removes it).
    const changed = await restoredWithin('the edited value restored', () =>
      patchSecret('drift', { data: { password: Buffer.from('wrong').toString('base64') } }),
    );
    const beforeRemoval = apiAuditMark();
    const removed = await restoredWithin('the removed key restored', () =>
      clients.core.patchNamespacedSecret(
        { name: 'drift', namespace, body: [{ op: 'remove', path: '/data/user' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
    expect(changed).toBeLessThan(1500);
    expect(removed).toBeLessThan(1500);
    // The repairs read nothing from the backend: the values were cached.
    expect(proxy.count('BatchGetSecretValue') + proxy.count('GetSecretValue')).toBe(callsBefore);
    const events = await eventsOf(clients, namespace, 'drift');
    expect(events.filter((event) => event.startsWith('Normal Restored:')).length).toBeGreaterThanOrEqual(2);

    // The repair's status write follows its Secret write: the quiet window starts once it has landed.
    await eventually(
      'the status write of the last repair',
      () =>
        apiRequestsSince(beforeRemoval, CONTROLLER_USER_AGENT, namespace).has('PATCH externalsecrets/status')
          ? true
          : undefined,
      5_000,
    );
    // A label another tool adds is not drift: nothing is written for it.
    const quietFrom = apiAuditMark();
    await patchSecret('drift', { metadata: { labels: { 'backup-tool': 'seen' } } });
    // The echo of the controller's own writes starts nothing either: no write in the next seconds.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const requests = [...apiRequestsSince(quietFrom, CONTROLLER_USER_AGENT, namespace).keys()];
    expect(requests.filter((request) => !request.startsWith('WATCH '))).toEqual([]);
  });

  it('refuses Secret types the cluster would fill with a token, keeping the last good Secret', async () => {
    const key = `token-${id}`;
    await putSecret(key, 'harmless');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'mint' },
      spec: { backendType: 'secretsManager', data: [{ key, name: 'value' }] },
    });
    await waitForStatus(clients, namespace, 'mint', 'SUCCESS');
    const before = (await secretOf('mint')).secret;
    for (const type of ['kubernetes.io/service-account-token', 'bootstrap.kubernetes.io/token']) {
      await replaceExternalSecretSpec(clients, namespace, 'mint', {
        backendType: 'secretsManager',
        data: [{ key, name: 'value' }],
        template: { type, metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } } },
      });
      const refused = await waitForStatus(
        clients,
        namespace,
        'mint',
        `ERROR, Secret type ${type} is refused`,
      );
      expect(refused.status?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      await eventually('the Warning event', async () =>
        (await eventsOf(clients, namespace, 'mint')).some((event) =>
          event.startsWith(`Warning InvalidSpec: Secret type ${type} is refused`),
        )
          ? true
          : undefined,
      );
    }
    const kept = (await readSecretData(clients, namespace, 'mint'))!;
    expect(kept.secret.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(kept.secret.type).toBe('Opaque');
  });

  it('reports refusals in a namespace being deleted as one line, with no warning per Event', async () => {
    // Last in this file: it deletes the namespace. A finalizer keeps the ExternalSecret (and so the namespace,
    // Terminating) while the test changes its spec, which makes the controller try to create the Secret.
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'doomed', finalizers: ['test.kubernetes-client.io/hold'] },
      spec: { backendType: 'secretsManager', data: [{ key: `absent-${id}`, name: 'value' }] },
    });
    await waitForStatus(clients, namespace, 'doomed', 'ERROR');
    await clients.core.deleteNamespace({ name: namespace });
    try {
      await eventually('the namespace Terminating', async () =>
        (await clients.core.readNamespace({ name: namespace })).status?.phase === 'Terminating'
          ? true
          : undefined,
      );
      const key = `late-${id}`;
      await putSecret(key, 'late');
      await replaceExternalSecretSpec(clients, namespace, 'doomed', {
        backendType: 'secretsManager',
        data: [{ key, name: 'value' }],
      });
      const refused = await waitForStatus(clients, namespace, 'doomed', 'ERROR, apply secrets');
      expect(refused.status?.status).toMatch(
        new RegExp(
          `^ERROR, apply secrets ${namespace}/doomed: 403 Forbidden: .*because it is being terminated$`,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(controller.text).not.toContain('could not record event');
      expect(controller.text).not.toContain('HTTP-Code');
    } finally {
      const doomed = await readExternalSecret(clients, namespace, 'doomed');
      await clients.customObjects.replaceNamespacedCustomObject({
        group: 'kubernetes-client.io',
        version: 'v1',
        plural: 'externalsecrets',
        namespace,
        name: 'doomed',
        body: { ...doomed, metadata: { ...doomed.metadata, finalizers: [] } },
      });
    }
  });
});
