import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import { grantClusterRules, serviceAccountKubeconfig } from '../support/identity.js';
import { createAwsWorkload } from '../support/workload.js';
import { CONTROLLER_USER_AGENT } from '../../src/kubernetes/pooled-kube-config.js';
import {
  apiAuditMark,
  apiRequestsSince,
  createExternalSecret,
  createTestNamespace,
  eventually,
  GROUP,
  kubeClients,
  PLURAL,
  readSecretData,
  VERSION,
} from '../support/kube.js';

const POLL_MS = 1500;
const metricsOf = async (controller: ControllerProcess) => (await fetch(controller.url('/metrics'))).text();
const metricValue = (metrics: string, name: string, labels: Record<string, string> = {}) => {
  const line = metrics
    .split('\n')
    .find(
      (each) =>
        (each.startsWith(`${name}{`) || each.startsWith(`${name} `)) &&
        Object.entries(labels).every(([key, value]) => each.includes(`${key}="${value}"`)),
    );
  return line === undefined ? undefined : Number(line.split(' ').pop());
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('operations: probes, metrics, leader election, shutdown, logs', () => {
  const clients = kubeClients();
  const id = randomBytes(3).toString('hex');
  let namespace: string;

  beforeAll(async () => {
    namespace = await createTestNamespace('ops');
    await putSecret(`ops-${id}`, JSON.stringify({ user: 'u', password: 'p', token: 't' }));
  });

  describe('probes and metrics, as a ServiceAccount whose RBAC at first lacks list on ExternalSecrets', () => {
    let controller: ControllerProcess;
    const account = `es-ops-${id}`;

    beforeAll(async () => {
      const kubeconfig = await serviceAccountKubeconfig(clients, namespace, account);
      await grantClusterRules(clients, `${account}-base`, { namespace, name: account }, [
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] },
        { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['patch'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch', 'get', 'create', 'patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ]);
      controller = await ControllerProcess.start({
        KUBECONFIG: kubeconfig,
        WATCH_TIMEOUT: '1500',
        POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
        WATCHED_NAMESPACES: namespace,
      });
    });

    afterAll(async () => {
      await controller?.stop();
    });

    it('is not ready before the first list, fails liveness while the watch stays down, and recovers', async () => {
      await controller.waitHealthy('/healthz');
      const notReady = await fetch(controller.url('/readyz'));
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toContain(`externalsecrets:${namespace} initial list not cached yet`);
      // 2 × WATCH_TIMEOUT without a working watch: liveness fails, so the kubelet would restart the pod.
      await eventually('liveness to fail', async () =>
        (await fetch(controller.url('/healthz'))).status === 503 ? true : undefined,
      );

      await grantClusterRules(clients, `${account}-list`, { namespace, name: account }, [
        { apiGroups: [GROUP], resources: [PLURAL], verbs: ['list', 'watch'] },
      ]);
      await controller.waitHealthy('/readyz', 60_000);
      await controller.waitHealthy('/healthz');
      expect(
        metricValue(await metricsOf(controller), 'kubernetes_external_secrets_informer_restarts_total'),
      ).toBeGreaterThan(0);
    });

    it('moves the sync and backend metrics with syncs, and drops the series of a deleted object', async () => {
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'measured' },
        spec: { backendType: 'secretsManager', dataFrom: [`ops-${id}`] },
      });
      await eventually(
        'the Secret',
        async () => (await readSecretData(clients, namespace, 'measured'))?.data.user,
      );
      const labels = { name: 'measured', namespace, backend: 'secretsManager' };
      const metrics = await eventually('sync metrics', async () => {
        const text = await metricsOf(controller);
        return metricValue(text, 'kubernetes_external_secrets_last_success_timestamp_seconds', labels)
          ? text
          : undefined;
      });
      expect(
        metricValue(metrics, 'kubernetes_external_secrets_sync_calls_count', {
          ...labels,
          status: 'success',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, 'sync_calls', { ...labels, status: 'success' })).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, 'kubernetes_external_secrets_last_sync_call_state', labels)).toBe(1);
      expect(metricValue(metrics, 'last_state', labels)).toBe(1);
      expect(metricValue(metrics, 'kubernetes_external_secrets_leader')).toBe(1);
      expect(
        metricValue(metrics, 'kubernetes_external_secrets_backend_calls_total', {
          operation: 'BatchGetSecretValue',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(metrics).toMatch(
        /kubernetes_external_secrets_sync_duration_seconds_count\{backend="secretsManager"\} \d/,
      );
      expect(metrics).toMatch(/^process_resident_memory_bytes \d/m);

      // The counters keep moving with refreshes.
      const before = metricValue(metrics, 'kubernetes_external_secrets_sync_calls_count', {
        ...labels,
        status: 'success',
      })!;
      await eventually('refresh syncs to be counted', async () =>
        metricValue(await metricsOf(controller), 'kubernetes_external_secrets_sync_calls_count', {
          ...labels,
          status: 'success',
        })! > before
          ? true
          : undefined,
      );

      await clients.customObjects.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name: 'measured',
      });
      await eventually('the series to vanish', async () =>
        (await metricsOf(controller)).includes('name="measured"') ? undefined : true,
      );
    });
  });

  it('elects one leader; the standby takes over after SIGKILL and syncs a change made after the kill; SIGTERM releases the lease', async () => {
    const lease = `es-lease-${id}`;
    const key = `ha-${id}`;
    await putSecret(key, 'before');
    const env = {
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_NAMESPACE: namespace,
      LEADER_ELECTION_LEASE_NAME: lease,
      LEADER_ELECTION_LEASE_DURATION_MILLISECONDS: '4000',
      LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS: '3000',
      LEADER_ELECTION_RETRY_PERIOD_MILLISECONDS: '500',
      POLLER_INTERVAL_MILLISECONDS: String(POLL_MS),
      WATCHED_NAMESPACES: namespace,
    };
    const replicas = [await ControllerProcess.start(env), await ControllerProcess.start(env)];
    try {
      await Promise.all(replicas.map((replica) => replica.waitHealthy('/readyz')));
      const leaderStates = async () =>
        Promise.all(
          replicas.map(async (replica) =>
            metricValue(await metricsOf(replica), 'kubernetes_external_secrets_leader'),
          ),
        );
      const states = await eventually('one leader', async () => {
        const each = await leaderStates();
        return each.filter((state) => state === 1).length === 1 ? each : undefined;
      });
      const leader = replicas[states.indexOf(1)]!;
      const standby = replicas[states.indexOf(0)]!;

      await createExternalSecret(clients, namespace, {
        metadata: { name: 'ha' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await eventually('the leader to sync', async () =>
        (await readSecretData(clients, namespace, 'ha'))?.data.v === 'before' ? true : undefined,
      );
      for (let sample = 0; sample < 5; sample++) {
        expect((await leaderStates()).filter((state) => state === 1)).toHaveLength(1);
        await sleep(200);
      }

      await leader.stop('SIGKILL');
      const killedAt = Date.now();
      await updateSecret(key, 'after');
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'ha-new' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await eventually(
        'the standby to sync the change',
        async () => ((await readSecretData(clients, namespace, 'ha'))?.data.v === 'after' ? true : undefined),
        20_000,
      );
      await eventually(
        'the new object',
        async () => (await readSecretData(clients, namespace, 'ha-new'))?.data.v,
        20_000,
      );
      expect(Date.now() - killedAt).toBeLessThan(4000 + 2 * POLL_MS + 3000);
      expect(metricValue(await metricsOf(standby), 'kubernetes_external_secrets_leader')).toBe(1);

      expect(await standby.stop('SIGTERM')).toBe(0);
      const coordination = clients.kubeConfig.makeApiClient(CoordinationV1Api);
      const released = await coordination.readNamespacedLease({ name: lease, namespace });
      expect(released.spec?.holderIdentity).toBeUndefined();
      expect(standby.text).toContain('released leadership');
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop('SIGKILL').catch(() => undefined)));
    }
  });

  it('a standby writes nothing: with the Lease held by another replica, no Secret, status or Event', async () => {
    const lease = `held-${id}`;
    const key = `standby-${id}`;
    await putSecret(key, 'value');
    // Lease times are MicroTime: the API server refuses millisecond precision.
    const now = new V1MicroTime();
    await clients.kubeConfig.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace,
      body: {
        metadata: { name: lease, namespace },
        spec: {
          holderIdentity: 'another-replica',
          leaseDurationSeconds: 3600,
          acquireTime: now,
          renewTime: now,
        },
      },
    });
    const standby = await ControllerProcess.start({
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_NAMESPACE: namespace,
      LEADER_ELECTION_LEASE_NAME: lease,
      WATCHED_NAMESPACES: namespace,
    });
    try {
      await standby.waitHealthy('/readyz');
      const from = apiAuditMark();
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'not-while-standby' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await readSecretData(clients, namespace, 'not-while-standby')).toBeUndefined();
      const requests = [...apiRequestsSince(from, CONTROLLER_USER_AGENT, namespace).keys()];
      expect(requests.filter((request) => !request.startsWith('WATCH '))).toEqual([]);
    } finally {
      await standby.stop('SIGKILL');
    }
  });

  it('finishes in-flight syncs on SIGTERM during a burst: exit 0, every Secret whole', async () => {
    const burst = await createAwsWorkload(clients, 'burst', 40, { json: true });
    // A slow write budget (each sync writes the Secret, an Event and status), so the SIGTERM surely lands
    // mid-burst. Before, the whole burst could be written before the SIGTERM, and the test then signalled the
    // restarted controller while it was still loading, before its handlers existed: death by signal.
    const slowWrites = { WATCHED_NAMESPACES: burst.namespace, KUBE_API_QPS: '10', KUBE_API_BURST: '10' };
    const controller = await ControllerProcess.start(slowWrites);
    await eventually(
      'the first Secrets',
      async () => ((await burst.secrets()).size >= 3 ? true : undefined),
      30_000,
    );
    expect(await controller.stop('SIGTERM'), controller.text).toBe(0);

    const written = await burst.secrets();
    expect(written.size).toBeGreaterThan(0);
    expect(written.size, 'the SIGTERM came during the burst').toBeLessThan(burst.count);
    for (const [index, data] of written) expect(data).toEqual(burst.expected(index));
    const restarted = await ControllerProcess.start({ WATCHED_NAMESPACES: burst.namespace });
    try {
      await eventually(
        'every Secret after a restart',
        async () => ((await burst.secrets()).size === burst.count ? true : undefined),
        30_000,
      );
    } finally {
      expect(await restarted.stop('SIGTERM'), restarted.text).toBe(0);
    }
  });

  it("honours KES's LOG_MESSAGE_KEY and USE_HUMAN_READABLE_LOG_LEVELS, writes KES's fields, one JSON object per line", async () => {
    const controller = await ControllerProcess.start({
      LOG_MESSAGE_KEY: 'message',
      USE_HUMAN_READABLE_LOG_LEVELS: 'true',
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
    expect(await controller.stop()).toBe(0);
    const lines = controller.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      lines.find((line) => line.message === 'kubernetes-external-secrets controller started'),
    ).toMatchObject({ level: 'info' });
    expect(
      lines.every((line) => typeof line.level === 'string' && 'message' in line && !('msg' in line)),
    ).toBe(true);
    // KES's other field names, by default: message_time, pid, hostname, and the fields under payload.
    expect(
      lines.find((line) => line.message === 'kubernetes-external-secrets controller started'),
    ).toMatchObject({ pid: controller.child.pid, payload: { port: controller.port } });
    expect(lines.every((line) => typeof line.message_time === 'string' && 'hostname' in line)).toBe(true);
  });
});
