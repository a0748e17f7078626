/**
 * The benchmark (`npm run bench`, see README "Performance"): runs the built controller as a separate process
 * against the local stack with a generated workload, measures the figures of performance.md at the backends and
 * the API server, prints one table (each figure next to its floor) and writes JSON.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CountingAwsProxy, putParameter, putSecret, updateSecret } from '../test/support/aws.js';
import { ControllerProcess } from '../test/support/controller-process.js';
import {
  apiAuditMark,
  apiRequestsSince,
  createExternalSecret,
  kubeClients,
  rawRequest,
} from '../test/support/kube.js';
import { CONTROLLER_USER_AGENT } from '../src/kubernetes/pooled-kube-config.js';
import { auditedRequests, vaultAuditMark, writeKv2 } from '../test/support/vault.js';

type Backend = 'secretsManager' | 'systemManager' | 'vault';
const BATCH: Record<Backend, number> = { secretsManager: 20, systemManager: 10, vault: 1 };
const ROLE_ARN = 'arn:aws:iam::123456789012:role/bench';

const { values: options } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    mix: { type: 'string', default: 'secretsManager=0.4,systemManager=0.4,vault=0.2' },
    keys: { type: 'string', default: '2' },
    share: { type: 'string', default: '0.5' },
    pool: { type: 'string', default: '20' },
    interval: { type: 'string', default: '10000' },
    cycles: { type: 'string', default: '3' },
    repetitions: { type: 'string', default: '1' },
    samples: { type: 'string', default: '20' },
    'soak-minutes': { type: 'string', default: '0' },
    // Objects synced before the measured workload, so that memory growth per object is measured from a
    // controller that has already loaded and exercised every backend (not from one that never synced).
    warmup: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const count = Number(options.count);
const keysPerObject = Number(options.keys);
const share = Number(options.share);
const poolSize = Number(options.pool);
const intervalMs = Number(options.interval);
const cycles = Number(options.cycles);
const warmupCount = Number(options.warmup ?? Math.max(50, Math.round(count / 20)));
const mix = Object.fromEntries(
  options.mix
    .split(',')
    .map((part) => part.split('='))
    .map(([name, weight]) => [name, Number(weight)]),
) as Record<Backend, number>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const clients = kubeClients();

async function inBatches<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

interface ObjectPlan {
  name: string;
  backend: Backend;
  keys: string[];
}

/** The remote key of a pool or unique value, per backend's naming. */
function remoteKey(backend: Backend, run: string, id: string): string {
  if (backend === 'systemManager') return `/bench/${run}/${id}`;
  if (backend === 'vault') return `secret/data/bench/${run}/${id}`;
  return `bench/${run}/${id}`;
}

async function seed(backend: Backend, key: string, value: string): Promise<void> {
  if (backend === 'secretsManager') await putSecret(key, value);
  else if (backend === 'systemManager') await putParameter(key, value);
  else await writeKv2(key.replace(/^secret\/data\//, ''), { value });
}

async function change(backend: Backend, key: string, value: string): Promise<void> {
  if (backend === 'secretsManager') await updateSecret(key, value);
  else await seed(backend, key, value);
}

/** apiserver_request_total for the resources the controller touches: writes, reads, and each "VERB resource". */
async function apiServerRequests(): Promise<{ writes: number; reads: number; byVerb: Map<string, number> }> {
  const metrics = (await rawRequest('GET', '/metrics')).body;
  let writes = 0;
  let reads = 0;
  const byVerb = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    // Leases are left out: the controller runs without leader election here, and the API server renews its own
    // identity Lease every 10 s.
    if (!['secrets', 'externalsecrets', 'events', 'namespaces'].includes(resource)) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? '';
    const subresource = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    const value = Number(line.split(' ').pop());
    const label = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    byVerb.set(label, (byVerb.get(label) ?? 0) + value);
    if (['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'].includes(verb)) writes += value;
    else if (['GET', 'LIST'].includes(verb)) reads += value;
  }
  return { writes, reads, byVerb };
}

/** Heap in use, from the controller's own /metrics (prom-client's default metrics). */
async function heapUsedBytes(controller: ControllerProcess): Promise<number> {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? NaN);
}

/** Where the rest of the resident memory is: V8's reserved heap and memory outside the heap (buffers). */
async function memoryDetail(controller: ControllerProcess): Promise<Record<string, number>> {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20;
  const spaces = Object.fromEntries(
    [...metrics.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)].map(
      ([, space, bytes]) => [`${space}SpaceMiB`, Number(bytes) / 2 ** 20],
    ),
  );
  return {
    heapTotalMiB: read('nodejs_heap_size_total_bytes'),
    externalMiB: read('nodejs_external_memory_bytes'),
    ...spaces,
  };
}

/**
 * Resident memory of the controller: all of it, and the anonymous part (heap, buffers, native allocations)
 * without the pages of the mapped Node.js binary and libraries, which grow as more code runs and are shared.
 */
function processStats(pid: number): { rssBytes: number; anonBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const anonKb = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, anonBytes: anonKb * 1024, cpuSeconds: ticks / 100 };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

async function secretCount(namespace: string): Promise<number> {
  return (
    await clients.core.listNamespacedSecret({
      namespace,
      labelSelector: 'app.kubernetes.io/managed-by=kubernetes-external-secrets',
    })
  ).items.length;
}

interface SoakReport {
  minutes: number;
  rssMiBOverTime: Array<[number, number]>;
  rssTrendMiBPerHour: number;
  maxEventLoopLagSeconds: number;
  syncErrors: number;
  awsCallsPerSecondByMode: Record<string, number>;
  changesMade: number;
  keysChanged: number;
  changesArrived: number;
  faults: string[];
}

/** Least-squares slope of (minute, MiB) points, in MiB per hour. */
function trendPerHour(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const numerator = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const denominator = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return denominator === 0 ? 0 : (numerator / denominator) * 60;
}

async function controllerMetric(controller: ControllerProcess, pattern: RegExp): Promise<number> {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return metrics
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/**
 * The soak: for `minutes`, change a few remote values every interval, and every third minute take the AWS
 * endpoint away for 30 s, then throttle it for 30 s. Samples RSS and event-loop lag, counts sync errors, and
 * checks at the end that every change arrived.
 */
async function soak(
  minutes: number,
  controller: ControllerProcess,
  proxy: CountingAwsProxy,
  plans: ObjectPlan[],
  namespace: string,
): Promise<SoakReport> {
  const started = Date.now();
  const pid = controller.child.pid!;
  const rss: Array<[number, number]> = [];
  const faults: string[] = [];
  const latest = new Map<string, { plan: ObjectPlan; slot: number; value: string }>();
  const candidates = plans.filter((plan) => plan.keys.some((key) => key.includes('unique')));
  const errorsBefore = await controllerMetric(
    controller,
    /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/,
  );
  let maxLag = 0;
  let changes = 0;
  let round = 0;
  // AWS calls reaching the endpoint, and seconds spent, in each proxy mode: the call rate must fall while the
  // endpoint is down or throttling.
  const byMode = new Map<string, { calls: number; seconds: number }>();
  let tick = { at: Date.now(), calls: proxy.totalCalls, mode: proxy.mode };
  const closeTick = () => {
    const now = { at: Date.now(), calls: proxy.totalCalls, mode: proxy.mode };
    const spent = byMode.get(tick.mode) ?? { calls: 0, seconds: 0 };
    byMode.set(tick.mode, {
      calls: spent.calls + now.calls - tick.calls,
      seconds: spent.seconds + (now.at - tick.at) / 1000,
    });
    tick = now;
  };
  while (Date.now() - started < minutes * 60_000) {
    closeTick();
    const minute = (Date.now() - started) / 60_000;
    const faultPhase = Math.floor(minute) % 3 === 2 ? (minute % 1 < 0.5 ? 'down' : 'throttle') : 'pass';
    if (faultPhase !== proxy.mode) {
      proxy.mode = faultPhase;
      tick.mode = faultPhase;
      faults.push(`${minute.toFixed(1)} min: ${faultPhase}`);
    }
    for (let index = 0; index < 5; index++) {
      const plan = candidates[(round * 5 + index) % candidates.length]!;
      const key = plan.keys.find((each) => each.includes('unique'))!;
      const value = `soak-${round}-${index}`;
      // During an AWS fault the emulator itself is reachable (only the controller's path is broken).
      await change(plan.backend, key, value);
      latest.set(`${plan.name}/${key}`, { plan, slot: plan.keys.indexOf(key), value });
      changes++;
    }
    rss.push([minute, processStats(pid).rssBytes / 2 ** 20]);
    maxLag = Math.max(maxLag, await controllerMetric(controller, /^nodejs_eventloop_lag_max_seconds /));
    round++;
    await sleep(intervalMs);
  }
  closeTick();
  proxy.mode = 'pass';
  let arrived = 0;
  const deadline = Date.now() + 5 * intervalMs + 60_000;
  for (const { plan, slot, value } of latest.values()) {
    for (;;) {
      const secret = await clients.core.readNamespacedSecret({ name: plan.name, namespace });
      if (Buffer.from(secret.data?.[`k${slot}`] ?? '', 'base64').toString() === value) {
        arrived++;
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(200);
    }
  }
  return {
    minutes,
    rssMiBOverTime: rss.map(([minute, mib]) => [Number(minute.toFixed(2)), Number(mib.toFixed(1))]),
    rssTrendMiBPerHour: trendPerHour(rss.filter(([minute]) => minute >= Math.min(1, minutes / 3))),
    maxEventLoopLagSeconds: maxLag,
    syncErrors:
      (await controllerMetric(
        controller,
        /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/,
      )) - errorsBefore,
    awsCallsPerSecondByMode: Object.fromEntries(
      [...byMode].map(([mode, { calls, seconds }]) => [mode, Number((calls / seconds).toFixed(2))]),
    ),
    changesMade: changes,
    keysChanged: latest.size,
    changesArrived: arrived,
    faults,
  };
}

/**
 * Plans objects: each reads `keysPerObject` keys, a share of them from a common pool per backend; the
 * backends are spread by the mix. Unique keys are numbered across all the plans of one run.
 */
function objectPlanner(run: string): (howMany: number, prefix: string) => ObjectPlan[] {
  const backends = (Object.keys(mix) as Backend[]).filter((backend) => mix[backend] > 0);
  const weights = backends.map((backend) => mix[backend]);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let unique = 0;
  return (howMany, prefix) => {
    const plans: ObjectPlan[] = [];
    for (let index = 0; index < howMany; index++) {
      let pick = ((index + 0.5) / howMany) * total;
      let backend = backends[0]!;
      for (const [position, candidate] of backends.entries()) {
        if (pick < weights[position]!) {
          backend = candidate;
          break;
        }
        pick -= weights[position]!;
      }
      // Slot 0 is the last to be shared, so that every object keeps a key of its own while share < 1 (the
      // propagation sample changes those); the shared slots spread evenly over the pool.
      const keys = Array.from({ length: keysPerObject }, (_, slot) => {
        const item = index * keysPerObject + slot;
        const shared = slot === 0 ? share >= 1 : ((item * 7919) % 1000) / 1000 < share;
        return shared
          ? remoteKey(backend, run, `pool-${item % poolSize}`)
          : remoteKey(backend, run, `unique-${unique++}`);
      });
      plans.push({ name: `${prefix}-${index}`, backend, keys });
    }
    return plans;
  };
}

async function createObjects(plans: ObjectPlan[], namespace: string): Promise<void> {
  await inBatches(plans, 20, (plan) =>
    createExternalSecret(clients, namespace, {
      metadata: { name: plan.name },
      spec: {
        backendType: plan.backend,
        ...(plan.backend === 'secretsManager' ? { roleArn: ROLE_ARN } : {}),
        data: plan.keys.map((key, slot) => ({
          key,
          name: `k${slot}`,
          ...(plan.backend === 'vault' ? { property: 'value' } : {}),
        })),
      },
    }),
  );
}

async function waitForSecrets(namespace: string, expected: number, since: number): Promise<void> {
  while ((await secretCount(namespace)) < expected) {
    if (Date.now() - since > 20 * 60_000) throw new Error(`${expected} Secrets did not appear in 20 minutes`);
    await sleep(250);
  }
}

/**
 * Medians of the controller's resident memory sampled every second for `ms` (one reading depends on where the
 * garbage collector happens to be), and its heap in use at the end (/metrics is not free: read it once).
 */
async function sampledMemory(
  controller: ControllerProcess,
  ms: number,
): Promise<{ rssBytes: number; anonBytes: number; heapUsedBytes: number }> {
  const rss: number[] = [];
  const anon: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end; await sleep(1000)) {
    const stats = processStats(controller.child.pid!);
    rss.push(stats.rssBytes);
    anon.push(stats.anonBytes);
  }
  return {
    rssBytes: percentile(rss, 50),
    anonBytes: percentile(anon, 50),
    heapUsedBytes: await heapUsedBytes(controller),
  };
}

async function runOnce(repetition: number) {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const namespace = `bench-${run}`;
  // A fresh emulator for every run: moto slows down (and its server errs under concurrency) as its store grows.
  await fetch(`${process.env.MOTO_ENDPOINT}/moto-api/reset`, { method: 'POST' });
  await clients.core.createNamespace({ body: { metadata: { name: namespace } } });

  // The warm-up objects share the pool with the workload, as any later object would.
  const planner = objectPlanner(run);
  const warmupPlans = planner(warmupCount, 'warm');
  const plans = planner(count, 'es');
  const distinct = new Map<Backend, Set<string>>();
  for (const plan of [...warmupPlans, ...plans])
    for (const key of plan.keys)
      distinct.set(plan.backend, (distinct.get(plan.backend) ?? new Set()).add(key));
  const seeds = [...distinct].flatMap(([backend, keys]) => [...keys].map((key) => ({ backend, key })));
  const seedStarted = Date.now();
  await inBatches(seeds, 8, ({ backend, key }) => seed(backend, key, 'v0'));
  console.error(
    `[bench] seeded ${seeds.length} remote values in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  const proxy = new CountingAwsProxy();
  const endpoint = await proxy.start();
  const controller = await ControllerProcess.start(
    {
      AWS_ENDPOINT_URL: endpoint,
      VAULT_ADDR: process.env.VAULT_ADDR,
      SERVICE_ACCOUNT_TOKEN_PATH: process.env.ES_VAULT_TOKEN_PATH,
      DEFAULT_VAULT_MOUNT_POINT: 'kubernetes',
      DEFAULT_VAULT_ROLE: 'es-controller',
      POLLER_INTERVAL_MILLISECONDS: String(intervalMs),
      WATCHED_NAMESPACES: namespace,
      LOG_LEVEL: 'warn',
    },
    resolve('dist/main.js'),
  );
  try {
    await controller.waitHealthy('/readyz');
    const pid = controller.child.pid!;
    const emptyStats = processStats(pid);
    const vaultMarkAtStart = vaultAuditMark();

    // Warm-up: a few objects of every backend synced and refreshed once, then the memory baseline.
    const warmupStarted = Date.now();
    await createObjects(warmupPlans, namespace);
    await waitForSecrets(namespace, warmupPlans.length, warmupStarted);
    await sleep(intervalMs);
    const warm = await sampledMemory(controller, intervalMs);

    // Time to first full sync: from the first create until every Secret exists.
    const createStarted = Date.now();
    await createObjects(plans, namespace);
    const createdIn = Date.now() - createStarted;
    await waitForSecrets(namespace, warmupPlans.length + count, createStarted);
    const firstFullSyncMs = Date.now() - createStarted;
    const firstSyncErrors = await controllerMetric(
      controller,
      /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/,
    );
    console.error(
      `[bench] ${count} objects created in ${(createdIn / 1000).toFixed(1)} s (${warmupPlans.length} warm-up objects before), all synced after ${(firstFullSyncMs / 1000).toFixed(1)} s`,
    );

    // Idle cycles: calls at the backends, requests at the API server, CPU, memory.
    await sleep(intervalMs + 1000);
    const before = {
      aws: new Map(proxy.calls),
      awsMs: new Map(proxy.upstreamMs),
      vaultMark: vaultAuditMark(),
      api: await apiServerRequests(),
      auditMark: apiAuditMark(),
      process: processStats(pid),
    };
    const steady = await sampledMemory(controller, cycles * intervalMs);
    const after = {
      aws: new Map(proxy.calls),
      awsMs: new Map(proxy.upstreamMs),
      vaultReads: auditedRequests(/^secret\/data\/bench\//, before.vaultMark),
      api: await apiServerRequests(),
      process: processStats(pid),
    };
    // apiserver_request_total counts every client: the garbage collector, for one, GETs owners it has not seen
    // yet. The audit log tells the controller's own requests apart.
    const controllerRequests = [...apiRequestsSince(before.auditMark, CONTROLLER_USER_AGENT)];
    const controllerCount = (verbs: string[]) =>
      controllerRequests
        .filter(([label]) => verbs.includes(label.split(' ')[0]!))
        .reduce((sum, [, value]) => sum + value, 0) / cycles;
    const perCycle = (operation: string) =>
      ((after.aws.get(operation) ?? 0) - (before.aws.get(operation) ?? 0)) / cycles;
    const callsPerCycle = {
      BatchGetSecretValue: perCycle('BatchGetSecretValue'),
      GetSecretValue: perCycle('GetSecretValue'),
      GetParameters: perCycle('GetParameters'),
      vaultRead: after.vaultReads / cycles,
    };
    const floor = Object.fromEntries(
      [...distinct].map(([backend, keys]) => [backend, Math.ceil(keys.size / BATCH[backend])]),
    ) as Record<Backend, number>;
    const identities = distinct.size;
    // How long moto itself took per call in the idle cycles: the emulator shares the two cores too.
    const motoMsPerCall = Object.fromEntries(
      ['BatchGetSecretValue', 'GetParameters'].map((operation) => {
        const calls = (after.aws.get(operation) ?? 0) - (before.aws.get(operation) ?? 0);
        const ms = (after.awsMs.get(operation) ?? 0) - (before.awsMs.get(operation) ?? 0);
        return [operation, calls > 0 ? Number((ms / calls).toFixed(1)) : NaN];
      }),
    );
    const callsTotal = Object.values(callsPerCycle).reduce((sum, value) => sum + value, 0);
    const floorTotal = Object.values(floor).reduce((sum, value) => sum + value, 0);

    // Change propagation after updating a sample of remote values.
    // Objects with a key of their own, spread over the workload, so that no two sampled changes touch one key.
    const withOwnKey = plans.filter((plan) => plan.keys.some((key) => key.includes('unique')));
    const sample = withOwnKey
      .filter(
        (_, index) => index % Math.max(1, Math.floor(withOwnKey.length / Number(options.samples))) === 0,
      )
      .slice(0, Number(options.samples));
    const latencies: number[] = [];
    await Promise.all(
      sample.map(async (plan, position) => {
        const value = `changed-${position}`;
        const key = plan.keys.find((each) => each.includes('unique'))!;
        const slot = plan.keys.indexOf(key);
        const changedAt = Date.now();
        await change(plan.backend, key, value);
        for (;;) {
          const secret = await clients.core.readNamespacedSecret({ name: plan.name, namespace });
          if (Buffer.from(secret.data?.[`k${slot}`] ?? '', 'base64').toString() === value) break;
          if (Date.now() - changedAt > 3 * intervalMs + 10_000)
            throw new Error(`change to ${plan.name} did not arrive`);
          await sleep(100);
        }
        latencies.push(Date.now() - changedAt);
      }),
    );

    // One new object while the others refresh.
    const newKey = remoteKey('systemManager', run, 'late-comer');
    await seed('systemManager', newKey, 'new');
    const newStarted = Date.now();
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'late-comer' },
      spec: { backendType: 'systemManager', data: [{ key: newKey, name: 'v' }] },
    });
    for (;;) {
      try {
        await clients.core.readNamespacedSecret({ name: 'late-comer', namespace });
        break;
      } catch {
        await sleep(50);
      }
    }
    const newObjectMs = Date.now() - newStarted;
    const elapsedHours = (Date.now() - warmupStarted) / 3_600_000;
    const soakMinutes = Number(options['soak-minutes']);
    const soakReport =
      soakMinutes > 0 ? await soak(soakMinutes, controller, proxy, plans, namespace) : undefined;
    const idleRequests = [...after.api.byVerb]
      .map(([label, value]) => [label, (value - (before.api.byVerb.get(label) ?? 0)) / cycles] as const)
      .filter(([, perCycle]) => perCycle > 0);

    return {
      repetition,
      soak: soakReport,
      count,
      keysPerObject,
      share,
      intervalMs,
      distinctKeys: Object.fromEntries([...distinct].map(([backend, keys]) => [backend, keys.size])),
      firstFullSyncSeconds: firstFullSyncMs / 1000,
      firstSyncErrors,
      backendCallsPerCycle: callsPerCycle,
      backendCallsPerCycleTotal: callsTotal,
      motoMsPerCall,
      floorPerCycle: floor,
      floorPerCycleTotal: floorTotal,
      targetPerCycle: 1.1 * floorTotal + identities,
      stsCallsPerHour: proxy.count('AssumeRole') / elapsedHours,
      stsCallsTotal: proxy.count('AssumeRole'),
      vaultLoginsTotal: auditedRequests('auth/kubernetes/login', vaultMarkAtStart),
      apiWritesPerIdleCycle: controllerCount(['POST', 'PUT', 'PATCH', 'DELETE']),
      apiReadsPerIdleCycle: controllerCount(['GET', 'LIST']),
      controllerRequestsPerIdleCycle: Object.fromEntries(
        controllerRequests.map(([label, value]) => [label, value / cycles]),
      ),
      allClientsWritesPerIdleCycle: (after.api.writes - before.api.writes) / cycles,
      allClientsReadsPerIdleCycle: (after.api.reads - before.api.reads) / cycles,
      allClientsRequestsPerIdleCycleByVerb: Object.fromEntries(idleRequests),
      memoryDetailSteady: await memoryDetail(controller),
      propagationP50Ms: percentile(latencies, 50),
      propagationP99Ms: percentile(latencies, 99),
      newObjectWhileRefreshingMs: newObjectMs,
      warmupObjects: warmupPlans.length,
      rssEmptyMiB: emptyStats.rssBytes / 2 ** 20,
      rssWarmMiB: warm.rssBytes / 2 ** 20,
      rssSteadyMiB: steady.rssBytes / 2 ** 20,
      rssPer1000MiB: (steady.rssBytes - warm.rssBytes) / 2 ** 20 / (count / 1000),
      anonWarmMiB: warm.anonBytes / 2 ** 20,
      anonSteadyMiB: steady.anonBytes / 2 ** 20,
      anonPer1000MiB: (steady.anonBytes - warm.anonBytes) / 2 ** 20 / (count / 1000),
      heapWarmMiB: warm.heapUsedBytes / 2 ** 20,
      heapSteadyMiB: steady.heapUsedBytes / 2 ** 20,
      heapPer1000MiB: (steady.heapUsedBytes - warm.heapUsedBytes) / 2 ** 20 / (count / 1000),
      cpuSecondsPerCycle: (after.process.cpuSeconds - before.process.cpuSeconds) / cycles,
    };
  } finally {
    await controller.stop().catch(() => controller.stop('SIGKILL'));
    await proxy.stop();
    await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

const median = (values: number[]) => percentile(values, 50);

const results: Array<Awaited<ReturnType<typeof runOnce>>> = [];
for (let repetition = 1; repetition <= Number(options.repetitions); repetition++) {
  console.error(
    `[bench] repetition ${repetition}/${options.repetitions}: ${count} ExternalSecrets, ${keysPerObject} keys each, share ${share}, interval ${intervalMs} ms`,
  );
  results.push(await runOnce(repetition));
}
type Result = Awaited<ReturnType<typeof runOnce>>;
const m = (pick: (result: Result) => number) => median(results.map(pick));
const first = results[0]!;
const rows: Array<[string, string, string, boolean | undefined]> = [
  [
    'time to first full sync (failed syncs meanwhile)',
    `${m((r) => r.firstFullSyncSeconds).toFixed(1)} s (${m((r) => r.firstSyncErrors).toFixed(0)})`,
    'bounded by KUBE_API_QPS; 0 failed',
    m((r) => r.firstSyncErrors) === 0,
  ],
  [
    'backend calls per refresh cycle',
    m((r) => r.backendCallsPerCycleTotal).toFixed(1),
    `⌈D/B⌉ = ${first.floorPerCycleTotal} (target ≤ ${first.targetPerCycle.toFixed(1)})`,
    m((r) => r.backendCallsPerCycleTotal) <= first.targetPerCycle,
  ],
  [
    '  BatchGetSecretValue / GetSecretValue',
    `${m((r) => r.backendCallsPerCycle.BatchGetSecretValue).toFixed(1)} / ${m((r) => r.backendCallsPerCycle.GetSecretValue).toFixed(1)}`,
    `${first.floorPerCycle.secretsManager ?? 0}`,
    undefined,
  ],
  [
    '  GetParameters',
    m((r) => r.backendCallsPerCycle.GetParameters).toFixed(1),
    `${first.floorPerCycle.systemManager ?? 0}`,
    undefined,
  ],
  [
    '  Vault reads',
    m((r) => r.backendCallsPerCycle.vaultRead).toFixed(1),
    `${first.floorPerCycle.vault ?? 0}`,
    undefined,
  ],
  [
    '  moto answer time per BatchGetSecretValue / GetParameters',
    `${m((r) => r.motoMsPerCall.BatchGetSecretValue!).toFixed(1)} / ${m((r) => r.motoMsPerCall.GetParameters!).toFixed(1)} ms`,
    '—',
    undefined,
  ],
  [
    'STS AssumeRole calls (whole run)',
    m((r) => r.stsCallsTotal).toFixed(0),
    '1 per role per credential lifetime',
    m((r) => r.stsCallsTotal) <= 1,
  ],
  [
    'Vault logins (whole run)',
    m((r) => r.vaultLoginsTotal).toFixed(0),
    '≤ 1 per (mount, role) per token TTL',
    m((r) => r.vaultLoginsTotal) <= 1,
  ],
  [
    'API-server writes per idle cycle (controller)',
    m((r) => r.apiWritesPerIdleCycle).toFixed(1),
    '0',
    m((r) => r.apiWritesPerIdleCycle) === 0,
  ],
  [
    'API-server GET/LIST per idle cycle (controller)',
    m((r) => r.apiReadsPerIdleCycle).toFixed(1),
    '0 (informer caches)',
    m((r) => r.apiReadsPerIdleCycle) === 0,
  ],
  [
    '  all clients (GC included) writes / reads',
    `${m((r) => r.allClientsWritesPerIdleCycle).toFixed(1)} / ${m((r) => r.allClientsReadsPerIdleCycle).toFixed(1)}`,
    'apiserver_request_total',
    undefined,
  ],
  [
    'change propagation p50 / p99',
    `${(m((r) => r.propagationP50Ms) / 1000).toFixed(2)} / ${(m((r) => r.propagationP99Ms) / 1000).toFixed(2)} s`,
    `p99 ≤ interval + 2 s = ${(intervalMs / 1000 + 2).toFixed(0)} s`,
    m((r) => r.propagationP99Ms) <= intervalMs + 2000,
  ],
  [
    'new object synced while others refresh',
    `${(m((r) => r.newObjectWhileRefreshingMs) / 1000).toFixed(2)} s`,
    '≤ 2 s',
    m((r) => r.newObjectWhileRefreshingMs) <= 2000,
  ],
  [
    `controller RSS empty / warm (${first.warmupObjects} objects) / steady`,
    `${m((r) => r.rssEmptyMiB).toFixed(0)} / ${m((r) => r.rssWarmMiB).toFixed(0)} / ${m((r) => r.rssSteadyMiB).toFixed(0)} MiB`,
    '—',
    undefined,
  ],
  [
    'RSS growth per 1,000 objects after warm-up (all / anon)',
    `${m((r) => r.rssPer1000MiB).toFixed(1)} / ${m((r) => r.anonPer1000MiB).toFixed(1)} MiB`,
    '≤ 25 MiB',
    m((r) => r.rssPer1000MiB) <= 25,
  ],
  [
    'heap in use warm / steady',
    `${m((r) => r.heapWarmMiB).toFixed(0)} / ${m((r) => r.heapSteadyMiB).toFixed(0)} MiB`,
    '—',
    undefined,
  ],
  ['heap growth per 1,000 objects', `${m((r) => r.heapPer1000MiB).toFixed(1)} MiB`, '—', undefined],
  ['CPU seconds per refresh cycle', m((r) => r.cpuSecondsPerCycle).toFixed(2), '—', undefined],
];
const width = Math.max(...rows.map((row) => row[0].length));
console.log(
  `\nmedian of ${results.length} run(s): ${count} ExternalSecrets × ${keysPerObject} keys, share ${share}, mix ${options.mix}, interval ${intervalMs} ms\n`,
);
console.log(`${'figure'.padEnd(width)} | ${'measured'.padEnd(22)} | floor / target`);
for (const [label, value, target, ok] of rows) {
  console.log(
    `${label.padEnd(width)} | ${value.padEnd(22)} | ${target}${ok === undefined ? '' : ok ? '  ✓' : '  ✗'}`,
  );
}
for (const result of results.filter((each) => each.soak)) {
  const report = result.soak!;
  console.log(
    `\nsoak (run ${result.repetition}): ${report.minutes} min, RSS ${report.rssMiBOverTime[0]?.[1]} → ${report.rssMiBOverTime.at(-1)?.[1]} MiB ` +
      `(trend ${report.rssTrendMiBPerHour.toFixed(1)} MiB/h), max event-loop lag ${(report.maxEventLoopLagSeconds * 1000).toFixed(0)} ms, ` +
      `${report.syncErrors} sync errors (injected faults: ${report.faults.join('; ') || 'none'}), ` +
      `AWS calls per second by endpoint state ${JSON.stringify(report.awsCallsPerSecondByMode)}, ` +
      `${report.changesMade} changes; the last value of each of ${report.keysChanged} changed keys arrived: ${report.changesArrived}`,
  );
}
mkdirSync(options.out, { recursive: true });
const file = `${options.out}/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ options, results }, null, 2));
console.log(`\nJSON: ${file}`);
