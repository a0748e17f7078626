/**
 * The benchmark's report: the floor each figure is held against, the table printed (the median of the runs,
 * each figure next to its floor, ✓ or ✗), and the JSON of every run written to the output folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { percentile } from './measure.js';
// A type only (erased in the build): the figures of one run are what run.ts's runOnce returns.
import type { RunResult } from './run.js';
import type { RestartFigures } from './restart.js';
import type { Backend, ObjectPlan } from './workload.js';

/** Keys one backend call reads at the most: BatchGetSecretValue, GetParameters, one Vault read. */
const BATCH: Record<Backend, number> = { secretsManager: 20, systemManager: 10, vault: 1 };

/**
 * The fewest backend calls a refresh cycle can make, ⌈D/B⌉ per backend for D distinct keys, and the target:
 * 10 % over the floor plus one call per identity (the workload has one identity per backend).
 */
export function callFloor(distinct: Map<Backend, Set<string>>) {
  const floorPerCycle = Object.fromEntries(
    [...distinct].map(([backend, keys]) => [backend, Math.ceil(keys.size / BATCH[backend])]),
  ) as Record<Backend, number>;
  const floorPerCycleTotal = Object.values(floorPerCycle).reduce((sum, value) => sum + value, 0);
  return { floorPerCycle, floorPerCycleTotal, targetPerCycle: 1.1 * floorPerCycleTotal + distinct.size };
}

/**
 * With mixed refresh intervals: the fewest calls over `ticks` consecutive ticks of the shortest interval. The
 * objects of one identity share its phase, so at tick t every object whose interval divides t × shortest is
 * due, and its keys join that tick's batches: ⌈distinct keys due at t / B⌉ per backend (one identity each).
 * An interval longer than the window is never due within it.
 */
export function mixedIntervalFloor(plans: ObjectPlan[], shortestMs: number, ticks: number): number {
  let calls = 0;
  for (let tick = 1; tick <= ticks; tick++) {
    const due = new Map<Backend, Set<string>>();
    for (const plan of plans) {
      const every = Math.round((plan.refreshInterval?.ms ?? shortestMs) / shortestMs);
      if (tick % every !== 0) continue;
      for (const key of plan.keys) due.set(plan.backend, (due.get(plan.backend) ?? new Set()).add(key));
    }
    for (const [backend, keys] of due) calls += Math.ceil(keys.size / BATCH[backend]);
  }
  return calls;
}

/** What the table's heading repeats of the options. */
export interface ReportHeading {
  count: number;
  keysPerObject: number;
  share: number;
  mix: string;
  intervalMs: number;
}

/** Prints the table (medians over the runs; floors from the first run, which all runs share) and the soaks. */
export function printReport(
  results: RunResult[],
  { count, keysPerObject, share, mix, intervalMs }: ReportHeading,
): void {
  const m = (pick: (result: RunResult) => number) => percentile(results.map(pick), 50);
  const first = results[0]!;
  const objects = first.warmupObjects + count;
  const firstSync: Row = [
    'time to first full sync (failed syncs meanwhile)',
    `${m((r) => r.firstFullSyncSeconds).toFixed(1)} s (${m((r) => r.firstSyncErrors).toFixed(0)}), ${((3 * count) / m((r) => r.firstFullSyncSeconds)).toFixed(0)} writes/s`,
    `bounded by KUBE_API_QPS ${first.kubeApiQps} (3 writes per object); 0 failed`,
    m((r) => r.firstSyncErrors) === 0,
  ];
  const rows: Row[] = first.longInterval
    ? [firstSync, ...longIntervalRows(results, m, intervalMs), ...memoryRows(results, m)]
    : [firstSync, ...idleCycleRows(results, m, count, intervalMs), ...memoryRows(results, m)];
  if (results.every((r) => r.restart))
    rows.push(...restartRows(results, m, first.floorPerCycleTotal, first.targetPerCycle, objects));
  printRows(rows, results.length, { count, keysPerObject, share, mix, intervalMs });
  printSoaks(results);
}

type Row = [string, string, string, boolean | undefined];
type Median = (pick: (result: RunResult) => number) => number;

/** The figures of the 10 s profile: every idle cycle's calls, requests, propagation and CPU. */
function idleCycleRows(results: RunResult[], m: Median, count: number, intervalMs: number): Row[] {
  const first = results[0]!;
  return [
    [
      'backend calls per refresh cycle',
      m((r) => r.backendCallsPerCycleTotal).toFixed(1),
      `⌈D/B⌉ = ${first.floorPerCycleTotal} (target ≤ ${first.targetPerCycle.toFixed(1)})`,
      m((r) => r.backendCallsPerCycleTotal) <= first.targetPerCycle,
    ],
    ...(first.mixedFloorPerWindow === undefined
      ? []
      : ([
          [
            `  mixed intervals ${first.intervals}: calls per ${first.windowCycles} cycles`,
            m((r) => r.backendCallsPerWindow).toFixed(0),
            `${first.mixedFloorPerWindow} (each group's keys per its ticks, shared ticks once; ≤ 1.1× + ${first.windowCycles * 3})`,
            m((r) => r.backendCallsPerWindow) <= 1.1 * first.mixedFloorPerWindow + first.windowCycles * 3,
          ],
        ] as Array<[string, string, string, boolean | undefined]>)),
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
    cpuRow(results, m, count),
  ];
}

/**
 * The large-cluster profile's idle window (a long interval, no refresh cycle waited for): the controller's
 * requests and CPU scaled to an hour, and the backend calls the window happened to see.
 */
function longIntervalRows(results: RunResult[], m: Median, intervalMs: number): Row[] {
  const first = results[0]!;
  const perHour = 3_600_000 / intervalMs;
  const window = `${first.idleWindowMinutes} min window`;
  return [
    [
      `API-server writes / reads per idle hour (controller; ${window} × ${(60 / first.idleWindowMinutes).toFixed(0)})`,
      `${(m((r) => r.apiWritesPerIdleCycle) * perHour).toFixed(0)} / ${(m((r) => r.apiReadsPerIdleCycle) * perHour).toFixed(0)}`,
      '0 writes',
      m((r) => r.apiWritesPerIdleCycle) === 0,
    ],
    [
      '  all clients (GC included) writes / reads per idle hour',
      `${(m((r) => r.allClientsWritesPerIdleCycle) * perHour).toFixed(0)} / ${(m((r) => r.allClientsReadsPerIdleCycle) * perHour).toFixed(0)}`,
      'apiserver_request_total',
      undefined,
    ],
    [
      `backend calls in the ${window} (a refresh is due once an hour per identity)`,
      m((r) => r.backendCallsPerWindow).toFixed(0),
      '—',
      undefined,
    ],
    [
      'new object synced while the others are held',
      `${(m((r) => r.newObjectWhileRefreshingMs) / 1000).toFixed(2)} s`,
      '≤ 2 s',
      m((r) => r.newObjectWhileRefreshingMs) <= 2000,
    ],
    [
      `CPU seconds per idle hour (${window}, scaled)`,
      (m((r) => r.cpuSecondsPerCycle) * perHour).toFixed(1),
      '—',
      undefined,
    ],
  ];
}

/** Resident memory and heap: empty, warm, steady, and the growth per 1,000 objects. */
function memoryRows(results: RunResult[], m: Median): Row[] {
  const first = results[0]!;
  // The large-cluster profile's target is tighter: at tens of thousands of objects the growth is the memory.
  const growthTarget = first.longInterval ? 10 : 25;
  return [
    [
      `controller RSS empty / warm (${first.warmupObjects} objects) / steady`,
      `${m((r) => r.rssEmptyMiB).toFixed(0)} / ${m((r) => r.rssWarmMiB).toFixed(0)} / ${m((r) => r.rssSteadyMiB).toFixed(0)} MiB`,
      '—',
      undefined,
    ],
    [
      'RSS growth per 1,000 objects after warm-up (all / anon)',
      `${m((r) => r.rssPer1000MiB).toFixed(1)} / ${m((r) => r.anonPer1000MiB).toFixed(1)} MiB`,
      `≤ ${growthTarget} MiB`,
      m((r) => r.rssPer1000MiB) <= growthTarget,
    ],
    [
      'heap in use warm / steady',
      `${m((r) => r.heapWarmMiB).toFixed(0)} / ${m((r) => r.heapSteadyMiB).toFixed(0)} MiB`,
      '—',
      undefined,
    ],
    ['heap growth per 1,000 objects', `${m((r) => r.heapPer1000MiB).toFixed(1)} MiB`, '—', undefined],
    [
      'garbage collections per cycle: major / minor',
      `${m((r) => r.gcPerCycle.major ?? 0).toFixed(1)} / ${m((r) => r.gcPerCycle.minor ?? 0).toFixed(1)}`,
      '—',
      undefined,
    ],
  ];
}

/** The restarted controller (`--restart`): Ready, the first pass over every synced object, its cost. */
function restartRows(results: RunResult[], m: Median, floor: number, target: number, objects: number): Row[] {
  const r = (pick: (figures: RestartFigures) => number) => m((result) => pick(result.restart!));
  const list = (resource: string) => r((f) => f.listMs[resource] ?? NaN).toFixed(0);
  return [
    [
      'restart: time to Ready (informer LIST ExternalSecrets / Secrets, API server time)',
      `${(r((f) => f.readyMs) / 1000).toFixed(1)} s (${list('externalsecrets')} / ${list('secrets')} ms)`,
      '—',
      undefined,
    ],
    [
      'restart: first pass over every object (successful syncs / failed)',
      `${(r((f) => f.passMs) / 1000).toFixed(1)} s (${r((f) => f.syncs).toFixed(0)} / ${r((f) => f.syncErrors).toFixed(0)})`,
      `${objects + 1} objects, 0 failed`,
      r((f) => f.syncs) >= objects && r((f) => f.syncErrors) === 0,
    ],
    [
      'restart: backend calls in the pass',
      r((f) => f.backendCallsTotal).toFixed(0),
      `one read per distinct key, batched: ⌈D/B⌉ = ${floor} (target ≤ ${target.toFixed(0)})`,
      r((f) => f.backendCallsTotal) <= target,
    ],
    [
      '  BatchGetSecretValue / GetSecretValue / GetParameters / Vault reads',
      `${r((f) => f.backendCalls.BatchGetSecretValue!)} / ${r((f) => f.backendCalls.GetSecretValue!)} / ${r((f) => f.backendCalls.GetParameters!)} / ${r((f) => f.backendCalls.vaultRead!)}`,
      '—',
      undefined,
    ],
    [
      'restart: STS calls / Vault logins',
      `${r((f) => f.stsCalls)} / ${r((f) => f.vaultLogins)}`,
      '1 / 1',
      r((f) => f.stsCalls) <= 1 && r((f) => f.vaultLogins) <= 1,
    ],
    [
      'restart: API-server writes / reads (controller)',
      `${r((f) => f.apiWrites)} / ${r((f) => f.apiReads)}`,
      "0 writes; reads: the informers' LISTs",
      r((f) => f.apiWrites) === 0,
    ],
    [
      'restart: peak RSS / RSS after the pass',
      `${r((f) => f.peakRssMiB).toFixed(0)} / ${r((f) => f.rssAfterPassMiB).toFixed(0)} MiB`,
      '—',
      undefined,
    ],
    ['restart: CPU seconds until the pass was over', r((f) => f.cpuSeconds).toFixed(1), '—', undefined],
  ];
}

function printRows(
  rows: Row[],
  runs: number,
  { count, keysPerObject, share, mix, intervalMs }: ReportHeading,
): void {
  const width = Math.max(...rows.map((row) => row[0].length));
  console.log(
    `\nmedian of ${runs} run(s): ${count} ExternalSecrets × ${keysPerObject} keys, share ${share}, mix ${mix}, interval ${intervalMs} ms\n`,
  );
  console.log(`${'figure'.padEnd(width)} | ${'measured'.padEnd(22)} | floor / target`);
  for (const [label, value, target, ok] of rows) {
    console.log(
      `${label.padEnd(width)} | ${value.padEnd(22)} | ${target}${ok === undefined ? '' : ok ? '  ✓' : '  ✗'}`,
    );
  }
}

function printSoaks(results: RunResult[]): void {
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
}

/** Writes the options and every run's figures to a timestamped file in `folder`, and prints its path. */
export function writeResults(folder: string, options: object, results: RunResult[]): void {
  mkdirSync(folder, { recursive: true });
  const file = `${folder}/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ options, results }, null, 2));
  console.log(`\nJSON: ${file}`);
}

/** CPU per idle cycle the controller aims at, by object count (at a 10 s interval). */
const CPU_TARGET_SECONDS: Readonly<Record<number, number>> = { 1000: 0.3, 10000: 2.0 };

/**
 * CPU per idle cycle, all threads and the JavaScript thread alone, against the target for the object count,
 * or 1.5 × the reads' own CPU (`--reads-floor`) when that is higher.
 */
function cpuRow(
  results: readonly RunResult[],
  m: (pick: (result: RunResult) => number) => number,
  count: number,
): [string, string, string, boolean | undefined] {
  const cpu = m((r) => r.cpuSecondsPerCycle);
  const value = `${cpu.toFixed(2)} / ${m((r) => r.mainThreadCpuSecondsPerCycle).toFixed(2)}`;
  const label = 'CPU seconds per refresh cycle: all threads / main thread';
  if (results.some((r) => r.readsFloorCpuSecondsPerCycle === undefined))
    return [label, value, '—', undefined];
  const floor = m((r) => r.readsFloorCpuSecondsPerCycle!);
  const target = Math.max(CPU_TARGET_SECONDS[count] ?? 0, 1.5 * floor);
  return [label, value, `reads alone ${floor.toFixed(2)}; target ≤ ${target.toFixed(2)}`, cpu <= target];
}
