import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingAwsProxy, putSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  apiAuditMark,
  auditedApiRequests,
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
} from '../support/kube.js';
import { CONTROLLER_USER_AGENT } from '../../src/kubernetes/pooled-kube-config.js';

/** More objects than the queue runs at once (10), each with a key of its own, one identity (one region). */
const OBJECTS = 120;
const REGION = 'ap-south-1';
/** BatchGetSecretValue reads at most 20 ids. */
const FLOOR = Math.ceil(OBJECTS / 20);

/** The objects with a successful sync in this process, one per-object series each. */
async function syncedObjects(controller: ControllerProcess): Promise<number> {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return metrics.match(/^kubernetes_external_secrets_sync_calls_count\{.*status="success".*$/gm)?.length ?? 0;
}

describe('a restart with every object synced', () => {
  const clients = kubeClients();
  const proxy = new CountingAwsProxy();
  let controller: ControllerProcess | undefined;
  let namespace: string;
  let environment: NodeJS.ProcessEnv;
  const run = randomBytes(3).toString('hex');
  const names = Array.from({ length: OBJECTS }, (_, index) => `restart-${index}`);

  beforeAll(async () => {
    namespace = await createTestNamespace('restart');
    for (const name of names) await putSecret(`restart-${run}/${name}`, name, REGION);
    environment = {
      AWS_ENDPOINT_URL: await proxy.start(),
      // Long: no refresh cycle within the test, so every read counted is the restart's.
      POLLER_INTERVAL_MILLISECONDS: '600000',
      WATCHED_NAMESPACES: namespace,
    };
    controller = await ControllerProcess.start(environment);
    await controller.waitHealthy('/readyz');
    for (const name of names) {
      await createExternalSecret(clients, namespace, {
        metadata: { name },
        spec: {
          backendType: 'secretsManager',
          region: REGION,
          data: [{ key: `restart-${run}/${name}`, name: 'v' }],
        },
      });
    }
    for (const name of names)
      await eventually(
        `Secret ${name}`,
        async () => (await readSecretData(clients, namespace, name))?.data.v,
      );
    await controller.stop();
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await proxy.stop();
  });

  it('reads every key once in full batches, writes nothing, and is Ready', async () => {
    proxy.reset();
    const mark = apiAuditMark();
    controller = await ControllerProcess.start(environment);
    await controller.waitHealthy('/readyz');
    await eventually(
      `${OBJECTS} objects synced after the restart`,
      async () => ((await syncedObjects(controller!)) >= OBJECTS ? true : undefined),
      60_000,
    );

    // Planned from the cache and prefetched as one identity's batch: ⌈120 / 20⌉ calls (reconciles ten at a
    // time, each asking for its own key, made about twice as many).
    expect(proxy.count('BatchGetSecretValue', REGION)).toBe(FLOOR);
    expect(proxy.count('GetSecretValue', REGION)).toBe(0);
    const writes = auditedApiRequests(mark, CONTROLLER_USER_AGENT, namespace).filter((request) =>
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(request.verb),
    );
    expect(writes).toEqual([]);
    for (const name of names.slice(0, 3))
      expect((await readSecretData(clients, namespace, name))?.data.v).toBe(name);
  }, 120_000);
});
