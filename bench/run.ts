/**
 * The benchmark (`npm run bench`, see README "Performance"): runs the built controller as a separate process
 * against the local stack with a generated workload, measures the figures of performance.md at the backends and
 * the API server, prints one table (each figure next to its floor) and writes JSON.
 *
 * This file is the CLI and the order of the steps; bench/workload.ts makes the objects and their remote values,
 * bench/measure.ts takes the figures, bench/soak.ts is the optional soak, bench/report.ts prints and writes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CountingAwsProxy } from '../test/support/aws.js';
import { CONTROLLER_MAIN, ControllerProcess } from '../test/support/controller-process.js';
import { kubeClients } from '../test/support/kube.js';
import { auditedRequests, vaultAuditMark } from '../test/support/vault.js';
import {
  measureIdleCycles,
  readsFloor,
  memoryDetail,
  newObjectSyncMs,
  percentile,
  propagationLatencies,
  sampledMemory,
  syncErrorCount,
} from './measure.js';
import { callFloor, mixedIntervalFloor, printReport, writeResults } from './report.js';
import { parseDuration } from '../src/domain/duration.js';
import { reportProfile, type ProfileSummary } from './profile.js';
import { measureRestart, type RestartFigures } from './restart.js';
import { recordScalingPoint, type ScalingPoint } from './scaling.js';
import { soak } from './soak.js';
import {
  createObjects,
  distinctKeys,
  externalSecretOf,
  objectPlanner,
  seedRemoteValues,
  waitForSecrets,
  type Backend,
  type WorkloadShape,
} from './workload.js';

const { values: options } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    mix: { type: 'string', default: 'secretsManager=0.4,systemManager=0.4,vault=0.2' },
    keys: { type: 'string', default: '2' },
    share: { type: 'string', default: '0.5' },
    pool: { type: 'string', default: '20' },
    interval: { type: 'string', default: '10000' },
    // Mixed spec.refreshInterval groups, e.g. 10s=0.5,60s=0.5: the controller's interval is then the shortest.
    intervals: { type: 'string', default: '' },
    cycles: { type: 'string', default: '3' },
    repetitions: { type: 'string', default: '1' },
    samples: { type: 'string', default: '20' },
    'soak-minutes': { type: 'string', default: '0' },
    // Objects synced before the measured workload, so that memory growth per object is measured from a
    // controller that has already loaded and exercised every backend (not from one that never synced).
    warmup: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    // A directory: the controller runs under V8's CPU profiler, and the idle cycles' top entries are printed.
    'cpu-prof': { type: 'string' },
    // After the controller stopped: the CPU of the same cycle's reads alone, by the same clients.
    'reads-floor': { type: 'boolean', default: false },
    // Extra Node.js flags for the controller after the image's (an experiment, e.g. --single-threaded-gc).
    'node-flags': { type: 'string', default: '' },
    // The controller's write budget (KUBE_API_QPS; the controller's default is 100).
    'kube-api-qps': { type: 'string' },
    // With an interval longer than 10 minutes (the large-cluster profile): the idle window measured, in minutes.
    'idle-minutes': { type: 'string', default: '10' },
    // After the rest: stop the controller, start a new one on the synced workload, and measure its first pass.
    restart: { type: 'boolean', default: false },
  },
});
const count = Number(options.count);
const intervals = options.intervals
  .split(',')
  .filter((part) => part !== '')
  .map((part) => {
    const [text, weight] = part.split('=') as [string, string];
    const ms = parseDuration(text);
    if (!ms) throw new Error(`--intervals: ${text} is not a duration`);
    return { text, ms, weight: Number(weight) };
  });
const intervalMs =
  intervals.length > 0 ? Math.min(...intervals.map((group) => group.ms)) : Number(options.interval);
const longestMs = Math.max(intervalMs, ...intervals.map((group) => group.ms));
// Mixed intervals: the idle window covers the longest interval when it is short enough to wait for (every
// group is then due in it); a longer one (1h) is not due within the cycles measured.
const cycles =
  intervals.length > 0 && longestMs <= 10 * 60_000 && longestMs % intervalMs === 0
    ? longestMs / intervalMs
    : Number(options.cycles);
// A long interval (the large-cluster profile, 1 h): no refresh cycle is waited for. The idle window is
// --idle-minutes, its figures scaled to one interval, and change propagation (within an interval) is not measured.
const longInterval = intervalMs > 10 * 60_000;
const idleWindow = longInterval
  ? {
      settleMs: 30_000,
      windowMs: Number(options['idle-minutes']) * 60_000,
      cycles: (Number(options['idle-minutes']) * 60_000) / intervalMs,
    }
  : { settleMs: intervalMs + 1000, windowMs: cycles * intervalMs, cycles };
// The empty and warm memory samples span one interval, or a minute at a long one (not an hour each).
const sampleMs = Math.min(intervalMs, 60_000);
const warmupCount = Number(options.warmup ?? Math.max(50, Math.round(count / 20)));
const shape: WorkloadShape = {
  mix: Object.fromEntries(
    options.mix
      .split(',')
      .map((part) => part.split('='))
      .map(([name, weight]) => [name, Number(weight)]),
  ) as Record<Backend, number>,
  keysPerObject: Number(options.keys),
  share: Number(options.share),
  poolSize: Number(options.pool),
  intervals,
};

const clients = kubeClients();

async function runOnce(repetition: number) {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const namespace = `bench-${run}`;
  // A fresh emulator for every run: moto slows down (and its server errs under concurrency) as its store grows.
  await fetch(`${process.env.MOTO_ENDPOINT}/moto-api/reset`, { method: 'POST' });
  await clients.core.createNamespace({ body: { metadata: { name: namespace } } });

  // The warm-up objects share the pool with the workload, as any later object would.
  const planner = objectPlanner(run, shape);
  const warmupPlans = planner(warmupCount, 'warm');
  const plans = planner(count, 'es');
  const distinct = distinctKeys([...warmupPlans, ...plans]);
  await seedRemoteValues(distinct);

  const proxy = new CountingAwsProxy();
  const endpoint = await proxy.start();
  const profileDir = profileDirOf(repetition);
  const controllerEnv = {
    AWS_ENDPOINT_URL: endpoint,
    VAULT_ADDR: process.env.VAULT_ADDR,
    SERVICE_ACCOUNT_TOKEN_PATH: process.env.ES_VAULT_TOKEN_PATH,
    DEFAULT_VAULT_MOUNT_POINT: 'kubernetes',
    DEFAULT_VAULT_ROLE: 'es-controller',
    POLLER_INTERVAL_MILLISECONDS: String(intervalMs),
    WATCHED_NAMESPACES: namespace,
    LOG_LEVEL: 'warn',
    KUBE_API_QPS: options['kube-api-qps'],
  };
  // Each controller process profiles into a folder of its own: the report reads one profile per folder.
  const startController = (cpuProfileDir = profileDir) =>
    ControllerProcess.start(controllerEnv, resolve(CONTROLLER_MAIN), [
      ...options['node-flags'].split(' ').filter((flag) => flag !== ''),
      ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
    ]);
  let controller = await startController();
  try {
    await controller.waitHealthy('/readyz');
    // The empty controller as it stays: the median over one interval, after start-up's one-off garbage.
    const empty = await sampledMemory(controller, sampleMs);
    const vaultMarkAtStart = vaultAuditMark();

    // Warm-up: a few objects of every backend synced and refreshed once, then the memory baseline.
    const warmupStarted = Date.now();
    await createObjects(clients, warmupPlans, namespace);
    await waitForSecrets(clients, namespace, warmupPlans.length, warmupStarted);
    await sleep(sampleMs);
    const warm = await sampledMemory(controller, sampleMs);

    // Time to first full sync: from the first create until every Secret exists.
    const createStarted = Date.now();
    await createObjects(clients, plans, namespace);
    const createdIn = Date.now() - createStarted;
    await waitForSecrets(clients, namespace, warmupPlans.length + count, createStarted);
    const firstFullSyncMs = Date.now() - createStarted;
    const firstSyncErrors = await syncErrorCount(controller);
    console.error(
      `[bench] ${count} objects created in ${(createdIn / 1000).toFixed(1)} s (${warmupPlans.length} warm-up objects before), all synced after ${(firstFullSyncMs / 1000).toFixed(1)} s`,
    );

    const idle = await measureIdleCycles(controller, proxy, idleWindow);
    const { steady } = idle;
    const { floorPerCycle, floorPerCycleTotal, targetPerCycle } = callFloor(distinct);
    const mixedFloorPerWindow =
      intervals.length > 0 ? mixedIntervalFloor([...warmupPlans, ...plans], intervalMs, cycles) : undefined;
    const latencies = longInterval
      ? []
      : await propagationLatencies(
          clients,
          namespace,
          // Mixed intervals: the shortest group's objects, so the bound stays interval + 2 s.
          plans.filter((plan) => (plan.refreshInterval?.ms ?? intervalMs) === intervalMs),
          Number(options.samples),
          intervalMs,
        );
    const newObjectMs = await newObjectSyncMs(clients, namespace, run);
    // Before the reads floor stops the controller (and makes its own login and AssumeRole).
    const memoryDetailSteady = await memoryDetail(controller);
    const stsCallsTotal = proxy.count('AssumeRole');
    const vaultLoginsTotal = auditedRequests('auth/kubernetes/login', vaultMarkAtStart);
    let readsFloorResult: Awaited<ReturnType<typeof readsFloor>> | undefined;
    if (options['reads-floor']) {
      // Measured alone on the machine: the controller is stopped first.
      await controller.stop();
      const awsDataCalls = () =>
        ['BatchGetSecretValue', 'GetSecretValue', 'GetParameters'].reduce(
          (sum, operation) => sum + proxy.count(operation),
          0,
        );
      const callsBefore = awsDataCalls();
      readsFloorResult = await readsFloor(
        controllerEnv,
        {
          externalSecrets: [...warmupPlans, ...plans].map((plan) => externalSecretOf(plan, namespace)),
          cycles,
        },
        profileDir ? `${profileDir}-reads-floor` : undefined,
      );
      const awsCalls = awsDataCalls() - callsBefore;
      console.error(
        `[bench] reads floor: ${readsFloorResult.cpuSecondsPerCycle.toFixed(3)} s CPU per cycle, ${readsFloorResult.callsPerCycle} calls per cycle (${awsCalls} AWS calls seen by the proxy over ${cycles + 1} cycles)`,
      );
    }
    let restart: RestartFigures | undefined;
    if (options.restart) {
      await controller.stop();
      const restartProfileDir = profileDir && `${profileDir}-restart`;
      const restarted = await measureRestart(() => startController(restartProfileDir), proxy, namespace, {
        // Every object, the late-comer too.
        objects: warmupPlans.length + count + 1,
        longInterval,
      });
      controller = restarted.controller;
      restart = restarted.figures;
      console.error(
        `[bench] restart: Ready after ${(restart.readyMs / 1000).toFixed(1)} s, first pass over after ${(restart.passMs / 1000).toFixed(1)} s, ${restart.backendCallsTotal} backend calls, ${restart.apiWrites} API writes`,
      );
    }
    const elapsedHours = (Date.now() - warmupStarted) / 3_600_000;
    const soakMinutes = Number(options['soak-minutes']);
    const soakReport =
      soakMinutes > 0
        ? await soak(soakMinutes, intervalMs, clients, controller, proxy, plans, namespace)
        : undefined;

    return {
      repetition,
      longInterval,
      idleWindowMinutes: idleWindow.windowMs / 60_000,
      kubeApiQps: Number(options['kube-api-qps'] ?? 100),
      restart,
      idleWindowUs: idle.windowUs,
      soak: soakReport,
      count,
      keysPerObject: shape.keysPerObject,
      share: shape.share,
      intervalMs,
      distinctKeys: Object.fromEntries([...distinct].map(([backend, keys]) => [backend, keys.size])),
      firstFullSyncSeconds: firstFullSyncMs / 1000,
      firstSyncErrors,
      backendCallsPerCycle: idle.callsPerCycle,
      backendCallsPerCycleTotal: idle.callsPerCycleTotal,
      intervals: intervals.map(({ text, weight }) => `${text}=${weight}`).join(','),
      windowCycles: idleWindow.cycles,
      backendCallsPerWindow: idle.callsPerCycleTotal * idleWindow.cycles,
      mixedFloorPerWindow,
      motoMsPerCall: idle.motoMsPerCall,
      floorPerCycle,
      floorPerCycleTotal,
      targetPerCycle,
      stsCallsPerHour: stsCallsTotal / elapsedHours,
      stsCallsTotal,
      vaultLoginsTotal,
      apiWritesPerIdleCycle: idle.controllerWrites,
      apiReadsPerIdleCycle: idle.controllerReads,
      controllerRequestsPerIdleCycle: idle.controllerRequestsByVerb,
      allClientsWritesPerIdleCycle: idle.allClientsWrites,
      allClientsReadsPerIdleCycle: idle.allClientsReads,
      allClientsRequestsPerIdleCycleByVerb: idle.allClientsRequestsByVerb,
      memoryDetailSteady,
      propagationP50Ms: percentile(latencies, 50),
      propagationP99Ms: percentile(latencies, 99),
      newObjectWhileRefreshingMs: newObjectMs,
      warmupObjects: warmupPlans.length,
      rssEmptyMiB: empty.rssBytes / 2 ** 20,
      rssWarmMiB: warm.rssBytes / 2 ** 20,
      rssSteadyMiB: steady.rssBytes / 2 ** 20,
      rssPer1000MiB: (steady.rssBytes - warm.rssBytes) / 2 ** 20 / (count / 1000),
      anonWarmMiB: warm.anonBytes / 2 ** 20,
      anonSteadyMiB: steady.anonBytes / 2 ** 20,
      anonPer1000MiB: (steady.anonBytes - warm.anonBytes) / 2 ** 20 / (count / 1000),
      heapWarmMiB: warm.heapUsedBytes / 2 ** 20,
      heapSteadyMiB: steady.heapUsedBytes / 2 ** 20,
      heapPer1000MiB: (steady.heapUsedBytes - warm.heapUsedBytes) / 2 ** 20 / (count / 1000),
      cpuSecondsPerCycle: idle.cpuSeconds,
      mainThreadCpuSecondsPerCycle: idle.mainThreadCpuSeconds,
      gcPerCycle: idle.gcPerCycle,
      readsFloorCpuSecondsPerCycle: readsFloorResult?.cpuSecondsPerCycle,
      readsFloorCallsPerCycle: readsFloorResult?.callsPerCycle,
      readsFloorProfile: readsFloorResult?.profile,
    };
  } finally {
    await controller.stop().catch(() => controller.stop('SIGKILL'));
    await proxy.stop();
    await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

/** Where the controller of a repetition writes its CPU profile (`--cpu-prof`). */
function profileDirOf(repetition: number): string | undefined {
  return options['cpu-prof'] ? resolve(options['cpu-prof'], `repetition-${repetition}`) : undefined;
}

/** The figures of one run, as written to the JSON. */
export type RunResult = Awaited<ReturnType<typeof runOnce>> & { cpuProfile?: ProfileSummary };

const results: RunResult[] = [];
for (let repetition = 1; repetition <= Number(options.repetitions); repetition++) {
  console.error(
    `[bench] repetition ${repetition}/${options.repetitions}: ${count} ExternalSecrets, ${shape.keysPerObject} keys each, share ${shape.share}, interval ${intervalMs} ms`,
  );
  const result = await runOnce(repetition);
  // V8 wrote the profile as the controller exited; only the idle window's samples count.
  const profileDir = profileDirOf(repetition);
  const cpuProfile = profileDir
    ? reportProfile(profileDir, result.idleWindowUs, 'the idle cycles', result.windowCycles)
    : undefined;
  results.push({ ...result, cpuProfile });
}
printReport(results, {
  count,
  keysPerObject: shape.keysPerObject,
  share: shape.share,
  mix: options.mix,
  intervalMs,
});
writeResults(options.out, options, results);

// The default workload, unprofiled, makes a point of the scaling plot (README "Performance").
const defaultWorkload =
  options.mix === 'secretsManager=0.4,systemManager=0.4,vault=0.2' &&
  [options.keys, options.share, options.pool, options.intervals, options['node-flags']].join() ===
    '2,0.5,20,,' &&
  !options['cpu-prof'];
if (defaultWorkload && (!longInterval || options.restart))
  await recordScalingPoint(scalingPointOf(results), 'bench/scaling.json', 'bench/scaling.svg');

/** The runs' medians as a point of the plot: at a long interval, the CPU figure is the restart's pass. */
function scalingPointOf(runs: RunResult[]): ScalingPoint {
  const m = (pick: (result: RunResult) => number | undefined) =>
    percentile(
      runs.map(pick).filter((value) => value !== undefined),
      50,
    );
  const restartPass = longInterval && runs.every((run) => run.restart);
  const floor = m((run) => run.readsFloorCpuSecondsPerCycle);
  return {
    count,
    intervalMs,
    runs: runs.length,
    rssSteadyMiB: Math.round(m((run) => run.rssSteadyMiB)),
    cpuSeconds: Number(
      m((run) => (restartPass ? run.restart!.cpuSeconds : run.cpuSecondsPerCycle)).toFixed(3),
    ),
    cpuMeasure: restartPass ? 'restart pass' : 'idle cycle',
    ...(Number.isNaN(floor) ? {} : { readsFloorCpuSeconds: Number(floor.toFixed(3)) }),
    measuredAt: new Date().toISOString(),
    commit: execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim(),
  };
}
