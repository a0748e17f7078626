import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CountingAwsProxy, putSecret, updateSecret } from '../support/aws.js';
import { ControllerProcess } from '../support/controller-process.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  readSecretData,
  replaceExternalSecretSpec,
  apiAuditMark,
  auditedApiRequests,
  GROUP,
  PLURAL,
  VERSION,
  type ExternalSecretObject,
} from '../support/kube.js';
import { CONTROLLER_USER_AGENT } from '../../src/kubernetes/pooled-kube-config.js';
import { killStackProcess, startStack } from '../support/stack.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createAwsWorkload, type AwsWorkload } from '../support/workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const syncCount = async (controller: ControllerProcess) => {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('kubernetes_external_secrets_sync_calls_count{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
};

/** The admin kubeconfig with the API server's address replaced by a proxy's. */
function kubeconfigThrough(port: number): string {
  const original = readFileSync(process.env.KUBECONFIG!, 'utf8');
  const file = join(mkdtempSync(join(tmpdir(), 'es-proxied-')), 'kubeconfig');
  writeFileSync(
    file,
    original.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`),
  );
  return file;
}

describe('faults: the controller survives them, loses nothing and tells the truth meanwhile', () => {
  const clients = kubeClients();
  const apiServerPort = Number(new URL(clients.kubeConfig.getCurrentCluster()!.server).port);

  it('a silently stalled watch fails /healthz; when the connection returns, everything catches up', async () => {
    const namespace = await createTestNamespace('stall');
    const key = `stall-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'one');
    const proxy = new TcpProxy('127.0.0.1', apiServerPort);
    const port = await proxy.start();
    const controller = await ControllerProcess.start({
      KUBECONFIG: kubeconfigThrough(port),
      WATCH_TIMEOUT: '2000',
      POLLER_INTERVAL_MILLISECONDS: '1500',
      WATCHED_NAMESPACES: namespace,
    });
    try {
      await controller.waitHealthy('/readyz');
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'before' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await eventually(
        'the first sync',
        async () => (await readSecretData(clients, namespace, 'before'))?.data.v,
      );

      proxy.freeze();
      await eventually('liveness to fail', async () => {
        const response = await fetch(controller.url('/healthz'));
        return response.status === 503 && (await response.text()).includes('watch silent') ? true : undefined;
      });
      // Changes made while the controller is cut off …
      await createExternalSecret(clients, namespace, {
        metadata: { name: 'during' },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
      await updateSecret(key, 'two');
      expect(await readSecretData(clients, namespace, 'during')).toBeUndefined();

      proxy.thaw();
      // … arrive once it is back, and the probe recovers.
      await eventually(
        'the new object',
        async () => (await readSecretData(clients, namespace, 'during'))?.data.v,
        60_000,
      );
      await eventually(
        'the changed value',
        async () =>
          (await readSecretData(clients, namespace, 'before'))?.data.v === 'two' ? true : undefined,
        60_000,
      );
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
      await proxy.stop();
    }
  });

  it('cut connections: informers re-watch without re-syncing every object', async () => {
    const namespace = await createTestNamespace('cut');
    const key = `cut-${randomBytes(3).toString('hex')}`;
    await putSecret(key, 'value');
    for (let index = 0; index < 10; index++) {
      await createExternalSecret(clients, namespace, {
        metadata: { name: `cut-${index}` },
        spec: { backendType: 'secretsManager', data: [{ key, name: 'v' }] },
      });
    }
    const proxy = new TcpProxy('127.0.0.1', apiServerPort);
    const port = await proxy.start();
    // Without polling, any sync after the cut would be part of a re-sync storm.
    const controller = await ControllerProcess.start({
      KUBECONFIG: kubeconfigThrough(port),
      DISABLE_POLLING: 'true',
      WATCHED_NAMESPACES: namespace,
    });
    try {
      await controller.waitHealthy('/readyz');
      await eventually('all ten synced', async () =>
        (await syncCount(controller)) >= 10 ? true : undefined,
      );
      await sleep(1000);
      const before = await syncCount(controller);
      for (let cut = 0; cut < 3; cut++) {
        proxy.drop();
        await sleep(1500);
      }
      await controller.waitHealthy('/healthz');
      await sleep(2000);
      expect(await syncCount(controller)).toBe(before);
      // The watches work again: a spec change syncs at once.
      await replaceExternalSecretSpec(clients, namespace, 'cut-0', {
        backendType: 'secretsManager',
        data: [{ key, name: 'renamed' }],
      });
      await eventually(
        'the spec change',
        async () => (await readSecretData(clients, namespace, 'cut-0'))?.data.renamed,
        30_000,
      );
    } finally {
      await controller.stop().catch(() => undefined);
      await proxy.stop();
    }
  });

  /** Waits until every object of the workload has its expected Secret. */
  const converged = (
    workload: AwsWorkload,
    expected: (index: number) => Record<string, string> = (index) => workload.expected(index),
  ) =>
    eventually(
      'every Secret',
      async () => {
        const secrets = await workload.secrets();
        for (let index = 0; index < workload.count; index++) {
          if (JSON.stringify(secrets.get(index)) !== JSON.stringify(expected(index))) return undefined;
        }
        return true;
      },
      90_000,
    );

  it('the API server restarts during a burst of syncs: every Secret converges, none is lost', async () => {
    const workload = await createAwsWorkload(clients, 'restart', 30);
    const controller = await ControllerProcess.start({
      WATCHED_NAMESPACES: workload.namespace,
      POLLER_INTERVAL_MILLISECONDS: '2000',
    });
    try {
      await controller.waitHealthy('/readyz');
      await eventually('the burst to start', async () =>
        (await workload.secrets()).size >= 1 ? true : undefined,
      );
      await killStackProcess('kube-apiserver');
      await sleep(3000);
      await startStack();
      await converged(workload);
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
    }
  });

  it('etcd restarts while values change: every Secret converges, none is lost', async () => {
    const workload = await createAwsWorkload(clients, 'etcd', 10);
    const controller = await ControllerProcess.start({
      WATCHED_NAMESPACES: workload.namespace,
      POLLER_INTERVAL_MILLISECONDS: '2000',
    });
    try {
      await controller.waitHealthy('/readyz');
      await converged(workload);
      await killStackProcess('etcd');
      // Values change while the API server has no storage.
      const second = (index: number) => ({ v: `second-${index}` });
      await Promise.all(
        Array.from({ length: workload.count }, (_, index) =>
          updateSecret(workload.key(index), second(index).v),
        ),
      );
      await sleep(4000);
      await startStack();
      await converged(workload, second);
      await controller.waitHealthy('/healthz', 60_000);
    } finally {
      await controller.stop().catch(() => undefined);
    }
  });

  /** Successful Secret writes (server-side applies) the controller sent since `mark`, by Secret name. */
  const secretWrites = (mark: number, namespace: string) => {
    const writes = new Map<string, number>();
    for (const request of auditedApiRequests(mark, CONTROLLER_USER_AGENT, namespace)) {
      if (
        request.resource !== 'secrets' ||
        request.verb !== 'PATCH' ||
        (request.code !== 200 && request.code !== 201)
      )
        continue;
      writes.set(request.name!, (writes.get(request.name!) ?? 0) + 1);
    }
    return writes;
  };

  /** What a killed controller left: each Secret's resourceVersion, and the objects whose sync it recorded. */
  const leftBehind = async (workload: AwsWorkload) => {
    const secrets = await clients.core.listNamespacedSecret({ namespace: workload.namespace });
    const objects = (await clients.customObjects.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: workload.namespace,
    })) as { items: ExternalSecretObject[] };
    return {
      versions: new Map(
        secrets.items.map((secret) => [secret.metadata!.name!, secret.metadata!.resourceVersion!]),
      ),
      recorded: new Set(
        objects.items
          .filter((object) => object.status?.observedGeneration === object.metadata.generation)
          .map((object) => object.metadata.name),
      ),
    };
  };

  /**
   * Nothing lost, nothing doubled: every Secret was applied, those written before the kill were not changed
   * again (same resourceVersion), and only a Secret whose sync the killed controller had not yet recorded in
   * the status was applied a second time (a no-op apply: the survivor cannot tell which spec it was written for).
   */
  const expectEachWrittenOnce = async (
    mark: number,
    workload: AwsWorkload,
    before: Awaited<ReturnType<typeof leftBehind>>,
  ) => {
    const writes = secretWrites(mark, workload.namespace);
    expect(writes.size).toBe(workload.count);
    const now = await leftBehind(workload);
    for (const [name, version] of before.versions) expect(now.versions.get(name)).toBe(version);
    const doubled = [...writes].filter(([name, count]) =>
      before.versions.has(name) && !before.recorded.has(name) ? count > 2 : count > 1,
    );
    expect(doubled).toEqual([]);
  };

  it('a controller killed (SIGKILL) in the middle of writes restarts cleanly: no partial Secret, all converge, none changed twice', async () => {
    const mark = apiAuditMark();
    const workload = await createAwsWorkload(clients, 'kill', 40, { json: true });
    const first = await ControllerProcess.start({
      WATCHED_NAMESPACES: workload.namespace,
      KUBE_API_QPS: '20',
      KUBE_API_BURST: '5',
    });
    await eventually('the first writes', async () =>
      (await workload.secrets()).size >= 3 ? true : undefined,
    );
    await first.stop('SIGKILL');
    const written = await workload.secrets();
    const killedWith = await leftBehind(workload);
    expect(written.size).toBeLessThan(workload.count);
    for (const [index, data] of written) expect(data).toEqual(workload.expected(index));
    const second = await ControllerProcess.start({ WATCHED_NAMESPACES: workload.namespace });
    try {
      await converged(workload);
      // Give the restarted controller a few refresh cycles to write anything it would write twice.
      await sleep(3000);
      await expectEachWrittenOnce(mark, workload, killedWith);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('two replicas, the leader killed (SIGKILL) during writes: the standby takes over; no write lost, none doubled', async () => {
    const mark = apiAuditMark();
    const workload = await createAwsWorkload(clients, 'failover', 40, { json: true });
    const env = {
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_NAMESPACE: workload.namespace,
      LEADER_ELECTION_LEASE_NAME: 'es-failover',
      LEADER_ELECTION_LEASE_DURATION_MILLISECONDS: '3000',
      LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS: '2000',
      LEADER_ELECTION_RETRY_PERIOD_MILLISECONDS: '300',
      WATCHED_NAMESPACES: workload.namespace,
      // Slow writes, so that the leader dies with most of them still to do.
      KUBE_API_QPS: '10',
      KUBE_API_BURST: '3',
    };
    const replicas = [await ControllerProcess.start(env), await ControllerProcess.start(env)];
    try {
      const isLeader = async (replica: ControllerProcess) =>
        /^kubernetes_external_secrets_leader 1$/m.test(await (await fetch(replica.url('/metrics'))).text());
      await eventually('the first writes', async () =>
        (await workload.secrets()).size >= 3 ? true : undefined,
      );
      const leader = (await isLeader(replicas[0]!)) ? replicas[0]! : replicas[1]!;
      const standby = leader === replicas[0] ? replicas[1]! : replicas[0]!;
      await leader.stop('SIGKILL');
      const written = await workload.secrets();
      const killedWith = await leftBehind(workload);
      expect(written.size).toBeLessThan(workload.count);
      for (const [index, data] of written) expect(data).toEqual(workload.expected(index));

      await converged(workload);
      expect(await isLeader(standby)).toBe(true);
      await sleep(3000);
      await expectEachWrittenOnce(mark, workload, killedWith);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop('SIGKILL').catch(() => undefined)));
    }
  });

  it('a leader cut off from the API server (hanging requests) stops at its renew deadline, before the standby takes over', async () => {
    const namespace = await createTestNamespace('cutoff');
    const env = {
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_NAMESPACE: namespace,
      LEADER_ELECTION_LEASE_NAME: 'es-cutoff',
      LEADER_ELECTION_LEASE_DURATION_MILLISECONDS: '3000',
      LEADER_ELECTION_RENEW_DEADLINE_MILLISECONDS: '2000',
      LEADER_ELECTION_RETRY_PERIOD_MILLISECONDS: '300',
      WATCHED_NAMESPACES: namespace,
    };
    const isLeader = async (replica: ControllerProcess) =>
      /^kubernetes_external_secrets_leader 1$/m.test(await (await fetch(replica.url('/metrics'))).text());
    const proxy = new TcpProxy('127.0.0.1', apiServerPort);
    const port = await proxy.start();
    const leader = await ControllerProcess.start({ ...env, KUBECONFIG: kubeconfigThrough(port) });
    let standby: ControllerProcess | undefined;
    try {
      await eventually('the first replica to lead', async () =>
        (await isLeader(leader)) ? true : undefined,
      );
      standby = await ControllerProcess.start(env);
      await standby.waitHealthy('/readyz');
      expect(await isLeader(standby)).toBe(false);

      // Requests hang: no answer, no error, no closed connection. Without a deadline of its own the leader
      // would wait on its renewal forever and still lead when the standby takes the expired Lease.
      const frozen = Date.now();
      proxy.freeze();
      let leaderExitedAt = 0;
      const exit = leader.exitCode(15_000).then((code) => {
        leaderExitedAt = Date.now();
        return code;
      });
      await eventually(
        'the standby to lead',
        async () => ((await isLeader(standby!)) ? true : undefined),
        15_000,
      );
      const standbyLeadsAt = Date.now();
      expect(await exit).toBe(1);
      expect(leaderExitedAt, 'the cut-off leader exited before the standby led').toBeGreaterThan(0);
      expect(leaderExitedAt).toBeLessThan(standbyLeadsAt);
      expect(leader.text).toContain('lost leadership: could not renew the lease in time');
      // Renew deadline (2 s) from the last renewal, then the lease (3 s) from the standby's last observation.
      expect(standbyLeadsAt - frozen).toBeLessThan(8000);
    } finally {
      proxy.thaw();
      await leader.stop('SIGKILL').catch(() => undefined);
      await standby?.stop('SIGKILL').catch(() => undefined);
      await proxy.stop();
    }
  });

  it('throttling: the call rate falls while it lasts, errors are reported once, and no object is starved after', async () => {
    const workload = await createAwsWorkload(clients, 'throttled', 10);
    const proxy = new CountingAwsProxy();
    const controller = await ControllerProcess.start({
      AWS_ENDPOINT_URL: await proxy.start(),
      POLLER_INTERVAL_MILLISECONDS: '1000',
      WATCHED_NAMESPACES: workload.namespace,
    });
    const reads = () => proxy.count('BatchGetSecretValue');
    try {
      await converged(workload);
      proxy.mode = 'throttle';
      const start = reads();
      await sleep(6000);
      const firstHalf = reads() - start;
      await sleep(6000);
      const secondHalf = reads() - start - firstHalf;
      const calls = `throttled calls: ${firstHalf} in the first 6 s, ${secondHalf} in the next`;
      // Once the backoff reaches its cap (three intervals, jittered down to half), at most one batched read per
      // 1.5 s with the SDK's three attempts: 12 in 6 s. Measured here: 7-29 calls, then 3-5.
      expect(secondHalf, calls).toBeLessThanOrEqual(12);
      expect(secondHalf, calls).toBeLessThanOrEqual(firstHalf);
      const second = (index: number) => ({ v: `after-${index}` });
      await Promise.all(
        Array.from({ length: workload.count }, (_, index) =>
          updateSecret(workload.key(index), second(index).v),
        ),
      );
      proxy.mode = 'pass';
      const recovered = Date.now();
      await converged(workload, second);
      // Within the longest backoff (three intervals) and a cycle, every object has its new value.
      expect(Date.now() - recovered).toBeLessThan(3 * 1000 + 1000 + 2000);
      // One warning per object when the error began, not one per retry.
      const warnings = controller.text
        .split('\n')
        .filter((line) => line.includes('"level":40') && line.includes('ThrottlingException'));
      expect(warnings.length).toBeLessThanOrEqual(workload.count);
    } finally {
      proxy.mode = 'pass';
      await controller.stop();
      await proxy.stop();
    }
  });
});
