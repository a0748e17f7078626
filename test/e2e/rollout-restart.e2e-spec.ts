import { AppsV1Api, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventsOf,
  eventually,
  kubeClients,
  readExternalSecret,
  readSecretData,
} from '../support/kube.js';

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const COALESCE_MS = 2000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const template = (app: string): V1PodTemplateSpec => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
});

describe('spec.rolloutRestartTargets', () => {
  const clients = kubeClients();
  const apps = clients.kubeConfig.makeApiClient(AppsV1Api);
  const id = Math.random().toString(36).slice(2, 8);
  const dbKey = `restart-${id}/db`;
  const apiKey = `restart-${id}/api`;
  const ghostKey = `restart-${id}/ghost`;
  const cacheKey = `restart-${id}/cache`;
  let namespace: string;
  let controller: ControllerProcess;

  /** The pod template's restartedAt annotation of each workload (no workload controller runs here: no Pods). */
  const restartedAt = async () => {
    const web = await apps.readNamespacedDeployment({ namespace, name: 'web' });
    const store = await apps.readNamespacedStatefulSet({ namespace, name: 'store' });
    return {
      web: web.spec!.template.metadata?.annotations?.[RESTARTED_AT],
      store: store.spec!.template.metadata?.annotations?.[RESTARTED_AT],
    };
  };
  /** Template changes of each workload: its generation moves once per restart (it was created at 1). */
  const restarts = async () => {
    const web = await apps.readNamespacedDeployment({ namespace, name: 'web' });
    const store = await apps.readNamespacedStatefulSet({ namespace, name: 'store' });
    return { web: web.metadata!.generation! - 1, store: store.metadata!.generation! - 1 };
  };
  const restartMetric = async (kind: string, outcome: string) => {
    const text = await (await fetch(controller.url('/metrics'))).text();
    const line = text
      .split('\n')
      .find((row) =>
        row.startsWith(
          `kubernetes_external_secrets_rollout_restarts_total{kind="${kind}",outcome="${outcome}"}`,
        ),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const object = (name: string, key: string, targets: { kind: string; name: string }[]) => ({
    metadata: { name },
    spec: {
      backendType: 'secretsManager',
      rolloutRestartTargets: targets,
      data: [{ key, name: 'password' }],
    },
  });

  beforeAll(async () => {
    namespace = await createTestNamespace('restart');
    await putSecret(dbKey, 'db-1');
    await putSecret(apiKey, 'api-1');
    await putSecret(ghostKey, 'ghost-1');
    await putSecret(cacheKey, 'cache-1');
    const selector = (app: string) => ({ matchLabels: { app } });
    await apps.createNamespacedDeployment({
      namespace,
      body: { metadata: { name: 'web' }, spec: { selector: selector('web'), template: template('web') } },
    });
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'store' },
        spec: { selector: selector('store'), serviceName: 'store', template: template('store') },
      },
    });
    controller = await ControllerProcess.start({
      POLLER_INTERVAL_MILLISECONDS: '1000',
      ROLLOUT_RESTART_COALESCE_MILLISECONDS: String(COALESCE_MS),
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
  });

  it('restarts each target once for Secrets that change together; not on creation, an idle refresh or a repair', async () => {
    await createExternalSecret(
      clients,
      namespace,
      object('db', dbKey, [
        { kind: 'Deployment', name: 'web' },
        { kind: 'StatefulSet', name: 'store' },
      ]),
    );
    await createExternalSecret(
      clients,
      namespace,
      object('api', apiKey, [{ kind: 'Deployment', name: 'web' }]),
    );
    await createExternalSecret(
      clients,
      namespace,
      object('cache', cacheKey, [{ kind: 'Deployment', name: 'web' }]),
    );
    for (const name of ['db', 'api', 'cache']) {
      await eventually(
        `${name} synced`,
        async () => (await readSecretData(clients, namespace, name))?.data.password,
      );
    }
    // Creation, then idle refreshes (1 s interval) past the coalescing window: no restart.
    await sleep(COALESCE_MS + 2000);
    expect(await restartedAt()).toEqual({ web: undefined, store: undefined });

    // The application's three Secrets rotate within the window: one restart of web, one of store.
    await updateSecret(dbKey, 'db-2');
    await updateSecret(apiKey, 'api-2');
    await updateSecret(cacheKey, 'cache-2');
    const restarted = await eventually('both workloads restarted', async () => {
      const now = await restartedAt();
      return now.web && now.store ? now : undefined;
    });
    expect(restarted.web).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const name of ['db', 'api', 'cache']) {
      expect((await readSecretData(clients, namespace, name))?.data.password).toBe(`${name}-2`);
    }
    await sleep(COALESCE_MS + 2000);
    expect(await restarts()).toEqual({ web: 1, store: 1 });
    expect(await restartMetric('Deployment', 'success')).toBe(1);
    expect(await restartMetric('StatefulSet', 'success')).toBe(1);

    // The events and the condition say what was restarted and why (key names, never values).
    const events = await eventsOf(clients, namespace, 'db');
    expect(events.filter((event) => event.startsWith('Normal RolloutRestarted: restarted'))).toHaveLength(2);
    const db = await eventually('the RolloutRestart condition', async () => {
      const found = await readExternalSecret(clients, namespace, 'db');
      return found.status?.conditions?.some((condition) => condition.type === 'RolloutRestart')
        ? found
        : undefined;
    });
    const condition = db.status!.conditions!.find((each) => each.type === 'RolloutRestart')!;
    expect(condition).toMatchObject({ status: 'True', reason: 'RolloutRestarted' });
    expect(condition.message).toContain('restarted Deployment web at');
    expect(condition.message).toContain(`${namespace}/db: changed password`);
    expect(condition.message).not.toContain('db-2');
    expect(db.status!.conditions!.find((each) => each.type === 'Ready')).toMatchObject({ status: 'True' });

    // A hand edit of the Secret is repaired to the same data: no restart.
    await clients.core.patchNamespacedSecret({
      namespace,
      name: 'db',
      body: [{ op: 'replace', path: '/data/password', value: Buffer.from('edited').toString('base64') }],
    });
    await eventually('the repair', async () =>
      (await readSecretData(clients, namespace, 'db'))?.data.password === 'db-2' ? true : undefined,
    );
    await sleep(COALESCE_MS + 1500);
    expect(await restarts()).toEqual({ web: 1, store: 1 });
    expect(await restartedAt()).toEqual(restarted);
  });

  it('a missing target is a Warning Event and a False RolloutRestart condition; the Secret still syncs', async () => {
    await createExternalSecret(
      clients,
      namespace,
      object('ghost', ghostKey, [{ kind: 'Deployment', name: 'missing' }]),
    );
    await eventually(
      'ghost synced',
      async () => (await readSecretData(clients, namespace, 'ghost'))?.data.password,
    );
    await updateSecret(ghostKey, 'ghost-2');
    const ghost = await eventually(
      'the failed restart in status',
      async () => {
        const found = await readExternalSecret(clients, namespace, 'ghost');
        const condition = found.status?.conditions?.find((each) => each.type === 'RolloutRestart');
        return condition?.status === 'False' ? found : undefined;
      },
      30_000,
    );
    const condition = ghost.status!.conditions!.find((each) => each.type === 'RolloutRestart')!;
    expect(condition.reason).toBe('RolloutRestartFailed');
    expect(condition.message).toMatch(
      /^could not restart Deployment missing: patch deployments\.apps .*\/missing: 404 NotFound: deployments\.apps "missing" not found$/,
    );
    expect(ghost.status!.conditions!.find((each) => each.type === 'Ready')).toMatchObject({ status: 'True' });
    expect((await readSecretData(clients, namespace, 'ghost'))?.data.password).toBe('ghost-2');
    expect(await eventsOf(clients, namespace, 'ghost')).toContainEqual(
      expect.stringMatching(
        /^Warning RolloutRestartFailed: could not restart Deployment missing: .*404 NotFound/,
      ),
    );
    expect(await restartMetric('Deployment', 'not_found')).toBe(1);
  });
});
