import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  eventsOf,
  readExternalSecret,
  readSecretData,
  replaceExternalSecretSpec,
  waitForStatus,
} from '../support/kube.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Secrets Manager reads (single or batched) the proxy saw in one region. */
const readsIn = (proxy: CountingAwsProxy, region: string) =>
  (proxy.calls.get(`GetSecretValue@${region}`) ?? 0) +
  (proxy.calls.get(`BatchGetSecretValue@${region}`) ?? 0);

describe('spec.refreshInterval', () => {
  const clients = kubeClients();
  const proxy = new CountingAwsProxy();
  let controller: ControllerProcess;
  let namespace: string;
  const id = Math.random().toString(36).slice(2, 8);
  const shared = `interval-${id}/shared`;
  const never = `interval-${id}/never`;
  const byDefault = `interval-${id}/default`;

  const object = (name: string, key: string, region: string, refreshInterval?: string) => ({
    apiVersion: 'kubernetes-client.io/v1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { backendType: 'secretsManager', region, refreshInterval, data: [{ key, name: 'v' }] },
  });
  const value = async (name: string) => (await readSecretData(clients, namespace, name))?.data.v;

  beforeAll(async () => {
    namespace = await createTestNamespace('interval');
    await putSecret(shared, 'one');
    await putSecret(never, 'one', 'eu-west-1');
    await putSecret(byDefault, 'one', 'eu-central-1');
    const endpoint = await proxy.start();
    controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: endpoint,
      // The controller's own interval is long: only the objects' own intervals act within the test.
      POLLER_INTERVAL_MILLISECONDS: '600000',
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await proxy.stop();
  });

  it('refreshes each object at its own interval; a 1h object sharing a 2s one’s key costs no read of its own; 0 never polls', async () => {
    await createExternalSecret(clients, namespace, object('fast', shared, 'us-east-1', '2s'));
    await createExternalSecret(clients, namespace, object('slow', shared, 'us-east-1', '1h'));
    await createExternalSecret(clients, namespace, object('never', never, 'eu-west-1', '0'));
    await createExternalSecret(clients, namespace, object('default', byDefault, 'eu-central-1'));
    for (const name of ['fast', 'slow', 'never', 'default']) {
      await eventually(`${name} synced`, async () => ((await value(name)) === 'one' ? true : undefined));
    }

    proxy.reset();
    await sleep(10_000);
    // The 2 s object: one read every 2 s (≥ 4 in 10 s); the 1 h object shares its key and identity and adds none.
    const sharedReads = readsIn(proxy, 'us-east-1');
    expect(sharedReads).toBeGreaterThanOrEqual(4);
    expect(sharedReads).toBeLessThanOrEqual(6);
    // 0: never read again. Unset: the controller's 10-minute interval, whose first refresh falls at the
    // identity's phase, anywhere within one interval after the first sync (so it may fall in these 10 s, as it
    // did once in CI): at most that one read, against five at the 2 s interval.
    expect(readsIn(proxy, 'eu-west-1')).toBe(0);
    expect(readsIn(proxy, 'eu-central-1')).toBeLessThanOrEqual(1);

    // A change reaches the 2 s object within its interval; the 0 one keeps its value until something syncs it.
    await putSecret(shared, 'two');
    await putSecret(never, 'two', 'eu-west-1');
    await eventually(
      'fast refreshed',
      async () => ((await value('fast')) === 'two' ? true : undefined),
      5_000,
    );
    await sleep(3_000);
    expect(await value('never')).toBe('one');
  });

  it('force-sync: a changed annotation syncs at once with one fresh read; a status update syncs nothing', async () => {
    // 'never' (refreshInterval 0) still holds 'one' while its remote value is 'two' (the test above).
    expect(await value('never')).toBe('one');
    proxy.reset();
    const annotated = Date.now();
    await clients.customObjects.patchNamespacedCustomObject(
      {
        group: 'kubernetes-client.io',
        version: 'v1',
        namespace,
        plural: 'externalsecrets',
        name: 'never',
        body: { metadata: { annotations: { 'force-sync': String(annotated) } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      'never force-synced',
      async () => ((await value('never')) === 'two' ? true : undefined),
      5_000,
    );
    expect(Date.now() - annotated).toBeLessThan(2_000);
    expect(readsIn(proxy, 'eu-west-1')).toBe(1);

    // A status-only update (what the controller itself writes) is not a trigger: no read, nothing written.
    proxy.reset();
    await clients.customObjects.patchNamespacedCustomObjectStatus(
      {
        group: 'kubernetes-client.io',
        version: 'v1',
        namespace,
        plural: 'externalsecrets',
        name: 'never',
        body: { status: { lastSync: new Date().toISOString() } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await sleep(2_000);
    expect(readsIn(proxy, 'eu-west-1')).toBe(0);
  });

  it('tells what a sync did: the Ready message and the Events name the keys added, changed and removed (never values)', async () => {
    const first = `interval-${id}/report-a`;
    const second = `interval-${id}/report-b`;
    await putSecret(first, 'secret-value-1');
    await putSecret(second, 'secret-value-2');
    const items = (...names: string[]) => names.map((name) => ({ key: name === 'c' ? second : first, name }));
    const manifest = {
      apiVersion: 'kubernetes-client.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'report' },
      spec: {
        backendType: 'secretsManager',
        region: 'us-east-1',
        refreshInterval: '1s',
        data: items('a', 'b'),
      },
    };
    await createExternalSecret(clients, namespace, manifest);
    let lastMessage: string | undefined;
    /** Waits until the Ready message names every given key change (the test fails with the last one seen). */
    const readyMessageNames = (...changes: string[]) =>
      eventually(
        `a Ready message naming ${changes.join(', ')}`,
        async () => {
          const { status } = await readExternalSecret(clients, namespace, 'report');
          lastMessage = status?.conditions?.[0]?.message as string | undefined;
          if (changes.every((change) => lastMessage?.includes(change))) return lastMessage;
          throw new Error(`last Ready message: ${lastMessage}`);
        },
        20_000,
      );
    expect(await readyMessageNames('added a, b')).toBe('the Secret is in sync; last write: added a, b');
    await putSecret(first, 'secret-value-3');
    expect(await readyMessageNames('changed a, b')).toBe('the Secret is in sync; last write: changed a, b');
    await replaceExternalSecretSpec(clients, namespace, 'report', {
      ...manifest.spec,
      data: items('a', 'c'),
    });
    // Compared with the controller's view of the Secret just before the write (its informer cache, which can
    // lag its own previous write under load), so only the keys this change surely touched are asserted.
    expect(await readyMessageNames('added c', 'removed b')).toMatch(
      /^the Secret is in sync; last write: added c; /,
    );
    const events = await eventsOf(clients, namespace, 'report');
    expect(events).toEqual(
      expect.arrayContaining([
        `Normal Created: Secret ${namespace}/report created: added a, b`,
        `Normal Updated: Secret ${namespace}/report updated: changed a, b`,
      ]),
    );
    expect(
      events.some((event) => /^Normal Updated: Secret \S+ updated: added c; .*removed b$/.test(event)),
    ).toBe(true);
    expect(JSON.stringify(events)).not.toMatch(/secret-value/);
  });

  it('reports an interval below one second in status (the schema takes the syntax)', async () => {
    await createExternalSecret(clients, namespace, object('too-fast', shared, 'us-east-1', '100ms'));
    const failed = await waitForStatus(clients, namespace, 'too-fast', 'ERROR');
    expect(failed.status?.status).toBe('ERROR, spec.refreshInterval 100ms is below 1s (0 never refreshes)');
  });
});
