/**
 * The benchmark's measurements: at the backends (the counting AWS proxy, OpenBao's audit log), at the API server
 * (apiserver_request_total and its audit log), of the controller process (RSS and CPU from /proc, the heap from
 * its /metrics), and of change propagation as a reader of the Secrets sees it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { CountingAwsProxy } from '../test/support/aws.js';
import {
  CONTROLLER_NODE_FLAGS,
  definedVariables,
  type ControllerProcess,
} from '../test/support/controller-process.js';
import { apiAuditMark, apiRequestsSince, createExternalSecret, rawRequest } from '../test/support/kube.js';
import { auditedRequests, vaultAuditMark } from '../test/support/vault.js';
import { CONTROLLER_USER_AGENT } from '../src/kubernetes/pooled-kube-config.js';
import { monotonicUs, reportProfile, type ProfileSummary } from './profile.js';
import type { ReadsFloorInput, ReadsFloorResult } from './reads-floor.js';
import { change, ownKey, remoteKey, secretHolds, seed, type Clients, type ObjectPlan } from './workload.js';

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

/** Least-squares slope of (minute, MiB) points, in MiB per hour. */
export function trendPerHour(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const numerator = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const denominator = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return denominator === 0 ? 0 : (numerator / denominator) * 60;
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

async function controllerMetricsText(controller: ControllerProcess): Promise<string> {
  return (await fetch(controller.url('/metrics'))).text();
}

/** The sum of the controller's metric lines that match `pattern`. */
export async function controllerMetric(controller: ControllerProcess, pattern: RegExp): Promise<number> {
  return (await controllerMetricsText(controller))
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** Failed syncs since the controller started. */
export function syncErrorCount(controller: ControllerProcess): Promise<number> {
  return controllerMetric(controller, /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/);
}

/** Heap in use, from the controller's own /metrics (prom-client's default metrics). */
async function heapUsedBytes(controller: ControllerProcess): Promise<number> {
  const metrics = await controllerMetricsText(controller);
  return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? NaN);
}

/** Where the rest of the resident memory is: V8's reserved heap and memory outside the heap (buffers). */
export async function memoryDetail(controller: ControllerProcess): Promise<Record<string, number>> {
  const metrics = await controllerMetricsText(controller);
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
export function processStats(pid: number): {
  rssBytes: number;
  anonBytes: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const anonKb = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {
    rssBytes: rssKb * 1024,
    anonBytes: anonKb * 1024,
    cpuSeconds: cpuSecondsOf(`/proc/${pid}/stat`),
    // The JavaScript thread's own share; the rest is V8's helper threads (concurrent GC) and libuv's pool.
    mainThreadCpuSeconds: cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`),
  };
}

/** utime + stime of a process or thread, from its `stat` file. */
function cpuSecondsOf(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Garbage collections so far by kind (major, minor, incremental, weakcb), from prom-client's default metrics. */
export async function gcCounts(controller: ControllerProcess): Promise<Map<string, number>> {
  const metrics = await controllerMetricsText(controller);
  return new Map(
    [...metrics.matchAll(/^nodejs_gc_duration_seconds_count\{kind="(\w+)"\} (\S+)/gm)].map(
      ([, kind, count]) => [kind!, Number(count)] as const,
    ),
  );
}

export interface MemorySample {
  rssBytes: number;
  anonBytes: number;
  heapUsedBytes: number;
}

/**
 * Medians of the controller's resident memory sampled every second for `ms` (one reading depends on where the
 * garbage collector happens to be), and its heap in use at the end (/metrics is not free: read it once).
 */
export async function sampledMemory(controller: ControllerProcess, ms: number): Promise<MemorySample> {
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

/** The idle window: how long to wait for the first-sync burst to end, how long to measure, per how many cycles. */
export interface IdleWindow {
  readonly settleMs: number;
  readonly windowMs: number;
  /** The figures are divided by this: the refresh cycles in the window (a fraction for a window shorter). */
  readonly cycles: number;
}

/**
 * Waits for the first-sync burst to end, then measures the idle window: calls at the backends, requests at the
 * API server, CPU and memory. Figures are per cycle.
 */
export async function measureIdleCycles(
  controller: ControllerProcess,
  proxy: CountingAwsProxy,
  { settleMs, windowMs, cycles }: IdleWindow,
) {
  const pid = controller.child.pid!;
  await sleep(settleMs);
  const gcBefore = await gcCounts(controller);
  const fromUs = monotonicUs();
  const before = {
    aws: new Map(proxy.calls),
    awsMs: new Map(proxy.upstreamMs),
    vaultMark: vaultAuditMark(),
    api: await apiServerRequests(),
    auditMark: apiAuditMark(),
    process: processStats(pid),
  };
  const steady = await sampledMemory(controller, windowMs);
  const toUs = monotonicUs();
  const after = {
    aws: new Map(proxy.calls),
    awsMs: new Map(proxy.upstreamMs),
    vaultReads: auditedRequests(/^secret\/data\/bench\//, before.vaultMark),
    api: await apiServerRequests(),
    process: processStats(pid),
  };
  const gcAfter = await gcCounts(controller);
  // apiserver_request_total counts every client: the garbage collector, for one, GETs owners it has not seen
  // yet. The audit log tells the controller's own requests apart.
  const controllerRequests = [...apiRequestsSince(before.auditMark, CONTROLLER_USER_AGENT)];
  const controllerCount = (verbs: string[]) =>
    controllerRequests
      .filter(([label]) => verbs.includes(label.split(' ')[0]!))
      .reduce((sum, [, value]) => sum + value, 0) / cycles;
  const awsCalls = (operation: string) => (after.aws.get(operation) ?? 0) - (before.aws.get(operation) ?? 0);
  const callsPerCycle = {
    BatchGetSecretValue: awsCalls('BatchGetSecretValue') / cycles,
    GetSecretValue: awsCalls('GetSecretValue') / cycles,
    GetParameters: awsCalls('GetParameters') / cycles,
    vaultRead: after.vaultReads / cycles,
  };
  // How long moto itself took per call in the idle cycles: the emulator shares the two cores too.
  const motoMsPerCall = Object.fromEntries(
    ['BatchGetSecretValue', 'GetParameters'].map((operation) => {
      const calls = awsCalls(operation);
      const ms = (after.awsMs.get(operation) ?? 0) - (before.awsMs.get(operation) ?? 0);
      return [operation, calls > 0 ? Number((ms / calls).toFixed(1)) : NaN];
    }),
  );
  const allClientsRequestsByVerb = [...after.api.byVerb]
    .map(([label, value]) => [label, (value - (before.api.byVerb.get(label) ?? 0)) / cycles] as const)
    .filter(([, perCycle]) => perCycle > 0);
  return {
    steady,
    windowUs: { fromUs, toUs },
    callsPerCycle,
    callsPerCycleTotal: Object.values(callsPerCycle).reduce((sum, value) => sum + value, 0),
    motoMsPerCall,
    controllerWrites: controllerCount(['POST', 'PUT', 'PATCH', 'DELETE']),
    controllerReads: controllerCount(['GET', 'LIST']),
    controllerRequestsByVerb: Object.fromEntries(
      controllerRequests.map(([label, value]) => [label, value / cycles]),
    ),
    allClientsWrites: (after.api.writes - before.api.writes) / cycles,
    allClientsReads: (after.api.reads - before.api.reads) / cycles,
    allClientsRequestsByVerb: Object.fromEntries(allClientsRequestsByVerb),
    cpuSeconds: (after.process.cpuSeconds - before.process.cpuSeconds) / cycles,
    mainThreadCpuSeconds: (after.process.mainThreadCpuSeconds - before.process.mainThreadCpuSeconds) / cycles,
    gcPerCycle: Object.fromEntries(
      [...gcAfter].map(([kind, count]) => [kind, (count - (gcBefore.get(kind) ?? 0)) / cycles]),
    ),
  };
}

/**
 * Changes the own key of `samples` objects spread over the workload (so that no two changes touch one key), all
 * at once, and returns how long each change took to reach its Secret, in ms.
 */
export async function propagationLatencies(
  clients: Clients,
  namespace: string,
  plans: ObjectPlan[],
  samples: number,
  intervalMs: number,
): Promise<number[]> {
  const withOwnKey = plans.filter((plan) => ownKey(plan) !== undefined);
  const sample = withOwnKey
    .filter((_, index) => index % Math.max(1, Math.floor(withOwnKey.length / samples)) === 0)
    .slice(0, samples);
  const latencies: number[] = [];
  await Promise.all(
    sample.map(async (plan, position) => {
      const value = `changed-${position}`;
      const key = ownKey(plan)!;
      const slot = plan.keys.indexOf(key);
      const changedAt = Date.now();
      await change(plan.backend, key, value);
      while (!(await secretHolds(clients, namespace, plan, slot, value))) {
        if (Date.now() - changedAt > 3 * intervalMs + 10_000)
          throw new Error(`change to ${plan.name} did not arrive`);
        await sleep(100);
      }
      latencies.push(Date.now() - changedAt);
    }),
  );
  return latencies;
}

/** How long one new object takes to get its Secret while the others refresh, in ms. */
export async function newObjectSyncMs(clients: Clients, namespace: string, run: string): Promise<number> {
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
  return Date.now() - newStarted;
}

/**
 * The CPU of the idle cycle's reads alone (bench/reads-floor.ts in a child process with the image's Node.js
 * flags and the controller's environment): what an idle cycle cannot cost less than.
 */
export async function readsFloor(
  env: NodeJS.ProcessEnv,
  input: ReadsFloorInput,
  profileDir?: string,
): Promise<ReadsFloorResult & { profile?: ProfileSummary }> {
  const folder = mkdtempSync(join(tmpdir(), 'reads-floor-'));
  try {
    const file = join(folder, 'input.json');
    writeFileSync(file, JSON.stringify(input));
    const program = new URL('./reads-floor.js', import.meta.url).pathname;
    const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...CONTROLLER_NODE_FLAGS, ...profiling, program, file],
      {
        env: definedVariables({ ...process.env, ...env }),
        maxBuffer: 1 << 20,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as ReadsFloorResult;
    if (!profileDir) return result;
    return {
      ...result,
      profile: reportProfile(profileDir, result.windowUs, 'the reads floor', input.cycles),
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
