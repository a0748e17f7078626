/**
 * The chart installed with `helm install` on a real node (test/node/run.sh): the image built from the
 * Dockerfile, run by the kubelet under containerd and runc, with the Pod's own projected ServiceAccount token.
 * The tests run in order, as one user's day with the controller: install, sync, inspect, restart, upgrade,
 * scale, load, uninstall. Figures worth keeping (start-to-Ready, RSS at 1,000 objects, handover time) are
 * written to $NODE_DIR/results.json and printed.
 */
import { CoordinationV1Api, type V1Pod, Watch } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putParameter, putSecret } from '../support/aws.js';
import { CHART, helm } from '../support/helm.js';
import {
  apiAuditMark,
  auditedApiRequests,
  createExternalSecret,
  eventually,
  kubeClients,
  readSecretData,
  readYamlDocuments,
  CRD_NAME,
  type ExternalSecretObject,
} from '../support/kube.js';
import {
  cgroupMemory,
  containerIdOf,
  containerMemoryCgroup,
  containerPid,
  ctr,
  keepPodLogs,
  nodeEnv,
  processState,
} from '../support/node.js';
import { auditedRequests, vaultAuditMark } from '../support/vault.js';
import { createAwsWorkload } from '../support/workload.js';

const RELEASE = 'kubernetes-external-secrets';
const SYSTEM = 'kes';
const APPS = 'apps';
const VALUES = new URL('./values.yaml', import.meta.url).pathname;
const SELECTOR = `app.kubernetes.io/name=${RELEASE},app.kubernetes.io/instance=${RELEASE}`;
const CONTROLLER_USER_AGENT = 'kubernetes-external-secrets';
const LEASE_DURATION_MS = 15_000;
const seed = readYamlDocuments<ExternalSecretObject>(
  new URL('../fixtures/seed-examples.yaml', import.meta.url),
);
const seedExample = (name: string) => {
  const example = seed.find((document) => document.metadata.name === name);
  if (!example) throw new Error(`no seed example ${name}`);
  return example;
};

const clients = kubeClients();
const coordination = clients.kubeConfig.makeApiClient(CoordinationV1Api);
const results: Record<string, unknown> = {};
let podLogs: ReturnType<typeof keepPodLogs> | undefined;

/**
 * Runs a step; if it fails, its error carries the last log lines of the named Pods (kept after deletion) and
 * of any other controller Pod now running, then the Lease and the Pods as they are (last, so that a
 * shortened failure output still shows them).
 */
async function explainedBy<T>(pods: V1Pod[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const current = await clients.core.listNamespacedPod({ namespace: SYSTEM, labelSelector: SELECTOR }).then(
      (list) => list.items,
      () => [],
    );
    const names = [...new Set([...pods, ...current].map((pod) => pod.metadata!.name!))];
    const logs = names.map((name) => `--- ${name} ---\n${podLogs?.tail(SYSTEM, name) ?? ''}`);
    const lease = await coordination
      .readNamespacedLease({ namespace: SYSTEM, name: RELEASE })
      .then((found) => JSON.stringify(found.spec), String);
    const podStates = current.map(
      (pod) =>
        `${pod.metadata!.name} ${pod.status?.phase}${pod.metadata!.deletionTimestamp ? ' (deleting)' : ''} ready=${isReady(pod)} restarts=${pod.status?.containerStatuses?.[0]?.restartCount} last=${JSON.stringify(pod.status?.containerStatuses?.[0]?.lastState?.terminated ?? null)}`,
    );
    (error as Error).message += `\n${logs.join('\n')}\nLease: ${lease}\nPods: ${podStates.join('; ')}`;
    throw error;
  }
}

const bao = async (method: string, path: string, body?: object) => {
  const response = await fetch(`${process.env.VAULT_ADDR}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': process.env.BAO_ROOT_TOKEN! },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`OpenBao ${method} ${path}: ${response.status} ${await response.text()}`);
};

const helmRelease = (verb: 'install' | 'upgrade', ...extra: string[]) =>
  helm(verb, RELEASE, CHART, '--namespace', SYSTEM, '-f', VALUES, '--wait', '--timeout', '4m', ...extra);

async function controllerPods(): Promise<V1Pod[]> {
  const pods = await clients.core.listNamespacedPod({ namespace: SYSTEM, labelSelector: SELECTOR });
  return pods.items.filter((pod) => !pod.metadata?.deletionTimestamp);
}

const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ??
  false;

/** Waits until exactly `count` controller Pods exist, all Ready, none of them in `excluding`; returns them. */
async function readyPods(count: number, excluding: string[] = [], timeoutMs = 120_000): Promise<V1Pod[]> {
  return eventually(
    `${count} Ready controller Pod(s)`,
    async () => {
      const all = await clients.core.listNamespacedPod({ namespace: SYSTEM, labelSelector: SELECTOR });
      const pods = all.items;
      const fresh = pods.filter((pod) => !excluding.includes(pod.metadata!.name!));
      return pods.length === count && fresh.length === count && fresh.every(isReady) ? fresh : undefined;
    },
    timeoutMs,
  );
}

/** The controller's /metrics of one Pod, at its own address (the test runs inside the node's network). */
async function metricOf(pod: V1Pod, name: string): Promise<number> {
  const text = await (await fetch(`http://${pod.status!.podIP}:3001/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith(`${name} `) || row.startsWith(`${name}{`));
  if (!line) throw new Error(`no metric ${name} on ${pod.metadata!.name}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * Deletes a Pod and follows it until it is gone, as the kubelet reports it: the exit code and finish time of
 * its container, and how long the deletion took.
 */
async function deletePodAndFollow(name: string) {
  let terminated: { exitCode?: number; finishedAt?: Date; reason?: string } | undefined;
  const watch = new Watch(clients.kubeConfig);
  let resolveGone: () => void = () => undefined;
  const gone = new Promise<void>((resolve) => (resolveGone = resolve));
  const request = await watch.watch(
    `/api/v1/namespaces/${SYSTEM}/pods`,
    { fieldSelector: `metadata.name=${name}` },
    (phase, pod: V1Pod) => {
      const state = pod.status?.containerStatuses?.[0]?.state?.terminated;
      if (state) terminated = state;
      if (phase === 'DELETED') resolveGone();
    },
    () => resolveGone(),
  );
  const started = Date.now();
  try {
    await clients.core.deleteNamespacedPod({ namespace: SYSTEM, name });
    await Promise.race([
      gone,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`Pod ${name} not gone after 60 s`)), 60_000),
      ),
    ]);
  } finally {
    request.abort();
  }
  return { terminated, seconds: (Date.now() - started) / 1000 };
}

describe('the chart on a real node', () => {
  beforeAll(async () => {
    nodeEnv();
    podLogs = keepPodLogs();
    // What a user's Vault administrator does: the Kubernetes auth roles admit the chart's ServiceAccount.
    for (const [mount, role] of [
      ['kubernetes', 'es-controller'],
      ['my-kubernetes-vault-mount-point', 'my-vault-role'],
    ]) {
      await bao('POST', `auth/${mount}/role/${role}`, {
        bound_service_account_names: [RELEASE],
        bound_service_account_namespaces: [SYSTEM],
        token_policies: ['es-read'],
        token_ttl: '10m',
      });
    }
    await putSecret('hello-service/password', '1234');
    await putParameter('/hello-service/password', 'ssm-1234');
    await bao('POST', 'secret/data/hello-service/credentials', {
      data: { password: 'vault-pass', 'api-key': 'vault-api-key' },
    });
    for (const name of [SYSTEM, APPS]) await clients.core.createNamespace({ body: { metadata: { name } } });
    await clients.core.createNamespacedSecret({
      namespace: SYSTEM,
      body: { metadata: { name: 'aws-credentials' }, stringData: { id: 'testing', key: 'testing' } },
    });
  });

  afterAll(() => {
    podLogs?.stop();
    // The image's figures, from its build (test/node/build-images.sh).
    const build = Object.fromEntries(
      readFileSync(join(nodeEnv().nodeDir, 'images', 'build.env'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('=')),
    ) as Record<string, string>;
    results.image = {
      buildSeconds: Number(build.APP_IMAGE_BUILD_SECONDS),
      archiveMiB: +(Number(build.APP_IMAGE_ARCHIVE_BYTES) / 2 ** 20).toFixed(1),
      gzipMiB: +(Number(build.APP_IMAGE_GZIP_BYTES) / 2 ** 20).toFixed(1),
    };
    const file = join(nodeEnv().nodeDir, 'results.json');
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`real-node results (${file}):\n${JSON.stringify(results, null, 2)}`);
  });

  it('helm install: the Pod becomes Ready through the chart’s own probes', async () => {
    const started = Date.now();
    await helmRelease('install');
    results.helmInstallSeconds = (Date.now() - started) / 1000;
    const [pod] = await readyPods(1);
    const container = pod!.spec!.containers[0]!;
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(pod!.status!.containerStatuses![0]!.restartCount).toBe(0);
    // Scheduled, pulled from the node's own store (pullPolicy Never), started, and Ready by its probe.
    const created = new Date(pod!.metadata!.creationTimestamp!).getTime();
    const ready = new Date(
      pod!.status!.conditions!.find((condition) => condition.type === 'Ready')!.lastTransitionTime!,
    ).getTime();
    results.podStartToReadySeconds = (ready - created) / 1000;
    // The projected ServiceAccount token and CA, as in any cluster (ServiceAccount admission).
    expect(
      pod!.spec!.volumes?.some((volume) => volume.projected?.sources?.some((s) => s.serviceAccountToken)),
    ).toBe(true);
  });

  it('syncs the seed README’s AWS and Vault examples; Vault logs in with the Pod’s own token', async () => {
    const vaultMark = vaultAuditMark();
    for (const name of ['hello-service', 'hello-service-ssm', 'hello-vault-service']) {
      await createExternalSecret(clients, APPS, seedExample(name));
    }
    const expected: Record<string, Record<string, string>> = {
      'hello-service': { password: '1234' },
      'hello-service-ssm': { password: 'ssm-1234' },
      'hello-vault-service': { password: 'vault-pass', 'api-key': 'vault-api-key' },
    };
    for (const [name, data] of Object.entries(expected)) {
      const synced = await eventually(`Secret ${name}`, () => readSecretData(clients, APPS, name), 60_000);
      expect(synced.data).toEqual(data);
    }
    // OpenBao's Kubernetes auth accepted the Pod's token: it checks every login with a TokenReview against
    // this API server, and the role admits only the chart's ServiceAccount in namespace kes.
    expect(auditedRequests('auth/my-kubernetes-vault-mount-point/login', vaultMark)).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('runs as uid 1000 with a read-only root, no capabilities and seccomp RuntimeDefault (read from the runtime); carries kes', async () => {
    const [pod] = await readyPods(1);
    const id = containerIdOf(pod!.status!.containerStatuses![0]!.containerID);
    const state = processState(await containerPid(id));
    expect(state.uids).toEqual([1000, 1000, 1000, 1000]);
    expect(state.gids).toEqual([1000, 1000, 1000, 1000]);
    expect(state.effectiveCapabilities).toBe(0n);
    expect(state.permittedCapabilities).toBe(0n);
    expect(state.boundingCapabilities).toBe(0n);
    expect(state.noNewPrivileges).toBe(true);
    expect(state.seccompMode).toBe(2);
    expect(state.rootMountOptions).toContain('ro');
    // The runtime's own spec of the container says the same, and the root really refuses a write.
    const spec = (JSON.parse(await ctr('containers', 'info', id)) as { Spec: RuntimeSpec }).Spec;
    expect(spec.process.user.uid).toBe(1000);
    expect(spec.root.readonly).toBe(true);
    expect(spec.linux.seccomp?.defaultAction).toBe('SCMP_ACT_ERRNO');
    const write = await ctr(
      'tasks',
      'exec',
      '--exec-id',
      `probe-${Date.now()}`,
      id,
      'sh',
      '-c',
      'touch /x 2>&1; true',
    );
    expect(write).toMatch(/Read-only file system/);
    // And it still works: a new ExternalSecret syncs.
    await putSecret('node/still-works', 'yes');
    await createExternalSecret(clients, APPS, {
      apiVersion: 'kubernetes-client.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'still-works' },
      spec: { backendType: 'secretsManager', data: [{ key: 'node/still-works', name: 'v' }] },
    });
    const synced = await eventually(
      'Secret still-works',
      () => readSecretData(clients, APPS, 'still-works'),
      30_000,
    );
    expect(synced.data).toEqual({ v: 'yes' });
    // The image carries the command line, on PATH as `kes` and as the kubectl plugin `kubectl-kes`.
    const version = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    for (const command of ['kes', 'kubectl-kes']) {
      const printed = await ctr(
        'tasks',
        'exec',
        '--exec-id',
        `${command}-${Date.now()}`,
        id,
        command,
        '--version',
      );
      expect(printed.trim()).toBe(version);
    }
    const validated = await ctr(
      'tasks',
      'exec',
      '--exec-id',
      `validate-${Date.now()}`,
      id,
      'sh',
      '-c',
      'printf "apiVersion: kubernetes-client.io/v1\\nkind: ExternalSecret\\nmetadata: {name: x}\\nspec: {backendType: vault}\\n" | kes validate - 2>&1',
    );
    expect(validated.trim()).toBe('1 file(s) valid');
  });

  it('kubectl delete pod: SIGTERM ends it with exit code 0 within the grace period; the replacement converges and rewrites no Secret', async () => {
    const [pod] = await readyPods(1);
    const name = pod!.metadata!.name!;
    const secretsBefore = await clients.core.listNamespacedSecret({ namespace: APPS });
    const versions = new Map(
      secretsBefore.items.map((secret) => [secret.metadata!.name!, secret.metadata!.resourceVersion]),
    );
    const mark = apiAuditMark();
    const { terminated, seconds } = await deletePodAndFollow(name);
    results.deletePodSeconds = seconds;
    expect(terminated?.exitCode).toBe(0);
    expect(seconds).toBeLessThan(pod!.spec!.terminationGracePeriodSeconds!);
    const [replacement] = await readyPods(1, [name]);
    // Converged: a value changed after the restart arrives through the new Pod.
    await putSecret('hello-service/password', '5678');
    await eventually(
      'the new value through the replacement Pod',
      async () =>
        (await readSecretData(clients, APPS, 'hello-service'))?.data.password === '5678' ? true : undefined,
      60_000,
    );
    const secretsAfter = await clients.core.listNamespacedSecret({ namespace: APPS });
    for (const secret of secretsAfter.items) {
      if (secret.metadata!.name === 'hello-service') continue;
      expect([secret.metadata!.name, secret.metadata!.resourceVersion]).toEqual([
        secret.metadata!.name,
        versions.get(secret.metadata!.name!),
      ]);
    }
    const writes = auditedApiRequests(mark, CONTROLLER_USER_AGENT, APPS).filter(
      (request) => request.resource === 'secrets' && !['GET', 'LIST', 'WATCH'].includes(request.verb),
    );
    expect(writes.map((request) => `${request.verb} ${request.name}`)).toEqual(['PATCH hello-service']);
    expect(replacement!.metadata!.name).not.toBe(name);
  });

  it('helm upgrade with a changed value rolls the Deployment', async () => {
    const [before] = await readyPods(1);
    await helmRelease('upgrade', '--set', 'env.LOG_LEVEL=debug');
    const [after] = await readyPods(1, [before!.metadata!.name!]);
    const env = after!.spec!.containers[0]!.env!;
    expect(env.find((variable) => variable.name === 'LOG_LEVEL')?.value).toBe('debug');
    expect(after!.metadata!.labels!['pod-template-hash']).not.toBe(
      before!.metadata!.labels!['pod-template-hash'],
    );
  });

  it('replicaCount 2: two Pods, exactly one leader; deleting the leader hands over within the lease', async () => {
    await helmRelease('upgrade', '--set', 'env.LOG_LEVEL=debug', '--set', 'replicaCount=2');
    const pods = await readyPods(2, [], 180_000);
    const leaders = await eventually(
      'exactly one leader',
      async () => {
        const flags = await Promise.all(
          pods.map((pod) => metricOf(pod, 'kubernetes_external_secrets_leader')),
        );
        return flags.filter((flag) => flag === 1).length === 1 &&
          flags.filter((flag) => flag === 0).length === 1
          ? flags
          : undefined;
      },
      60_000,
    );
    const leader = pods[leaders.indexOf(1)]!;
    const standby = pods[leaders.indexOf(0)]!;
    const lease = await coordination.readNamespacedLease({ namespace: SYSTEM, name: RELEASE });
    expect(lease.spec!.holderIdentity!.startsWith(leader.metadata!.name!)).toBe(true);

    const deleted = Date.now();
    const following = deletePodAndFollow(leader.metadata!.name!);
    try {
      await explainedBy([leader, standby], async () => {
        await eventually(
          'the standby to lead',
          async () =>
            (await metricOf(standby, 'kubernetes_external_secrets_leader')) === 1 ? true : undefined,
          LEASE_DURATION_MS + 10_000,
        );
        results.leaderHandoverSeconds = (Date.now() - deleted) / 1000;
        // The leader released the Lease on SIGTERM: no wait for it to expire.
        expect(Date.now() - deleted).toBeLessThan(LEASE_DURATION_MS);
      });
      const { terminated } = await following;
      expect(terminated?.exitCode).toBe(0);
      const handedOver = await coordination.readNamespacedLease({ namespace: SYSTEM, name: RELEASE });
      expect(handedOver.spec!.holderIdentity!.startsWith(standby.metadata!.name!)).toBe(true);
      // The new leader works: a new value arrives.
      await putSecret('hello-service/password', 'after-handover');
      await eventually(
        'the new value through the new leader',
        async () =>
          (await readSecretData(clients, APPS, 'hello-service'))?.data.password === 'after-handover'
            ? true
            : undefined,
        60_000,
      );
    } finally {
      // The next tests start from one replica, whatever happened here.
      await following.catch(() => undefined);
      await helmRelease('upgrade', '--set', 'env.LOG_LEVEL=debug', '--set', 'replicaCount=1');
      await readyPods(1, [], 120_000);
    }
  });

  it('holds the chart’s memory limit under 1,000 ExternalSecrets (not OOM-killed; RSS from the cgroup)', async () => {
    const started = Date.now();
    const workload = await createAwsWorkload(clients, 'load', 1000);
    await eventually(
      '1,000 synced Secrets',
      async () => ((await workload.secrets()).size === 1000 ? true : undefined),
      300_000,
    );
    results.thousandObjectsSyncedSeconds = (Date.now() - started) / 1000;
    // Two refresh cycles more at 1,000 objects, then the container's own memory cgroup.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const [pod] = await readyPods(1);
    const status = pod!.status!.containerStatuses![0]!;
    const memory = cgroupMemory(containerMemoryCgroup(containerIdOf(status.containerID)));
    results.memoryAt1000 = {
      rssMiB: +(memory.rss / 2 ** 20).toFixed(1),
      usageMiB: +(memory.usage / 2 ** 20).toFixed(1),
      maxUsageMiB: +(memory.maxUsage / 2 ** 20).toFixed(1),
      limitMiB: memory.limit / 2 ** 20,
    };
    expect(memory.limit).toBe(512 * 2 ** 20);
    expect(memory.maxUsage).toBeLessThan(memory.limit);
    expect(memory.oomKills).toBe(0);
    expect(status.restartCount).toBe(0);
    expect(status.lastState?.terminated).toBeUndefined();
  });

  it('helm uninstall leaves the CRD, the ExternalSecrets and their Secrets', async () => {
    const before = await clients.core.listNamespacedSecret({ namespace: APPS });
    await helm('uninstall', RELEASE, '--namespace', SYSTEM, '--wait', '--timeout', '2m');
    await eventually(
      'no controller Pod',
      async () => ((await controllerPods()).length === 0 ? true : undefined),
      60_000,
    );
    await clients.apiextensions.readCustomResourceDefinition({ name: CRD_NAME });
    const externalSecrets = (await clients.customObjects.listNamespacedCustomObject({
      group: 'kubernetes-client.io',
      version: 'v1',
      namespace: APPS,
      plural: 'externalsecrets',
    })) as { items: unknown[] };
    expect(externalSecrets.items).toHaveLength(4);
    // Give the garbage collector time to act, were anything owned by the release.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const after = await clients.core.listNamespacedSecret({ namespace: APPS });
    expect(after.items.map((secret) => secret.metadata!.uid).sort()).toEqual(
      before.items.map((secret) => secret.metadata!.uid).sort(),
    );
  });
});

interface RuntimeSpec {
  process: { user: { uid: number } };
  root: { readonly?: boolean };
  linux: { seccomp?: { defaultAction: string } };
}
