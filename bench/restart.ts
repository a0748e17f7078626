/**
 * A restart with every object synced already (`--restart`): the controller is stopped and a new one started on
 * the same workload. Measured: the time to Ready (the informers' initial lists, whose own time the API server's
 * audit log gives), the first pass over every object (one read of each distinct key, batched; no write is due),
 * and the new process's peak RSS (VmHWM, the kernel's high-water mark) and CPU.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountingAwsProxy } from '../test/support/aws.js';
import type { ControllerProcess } from '../test/support/controller-process.js';
import { apiAuditMark, auditedApiRequests } from '../test/support/kube.js';
import { auditedRequests, vaultAuditMark } from '../test/support/vault.js';
import { CONTROLLER_USER_AGENT } from '../src/kubernetes/pooled-kube-config.js';
import { controllerMetric, processStats } from './measure.js';

/**
 * The first pass is over when every object has synced once in the new process: a series of the per-object sync
 * counter with status="success" each. At a long interval /metrics (five series per object, megabytes at 50,000
 * objects) is read only once the process has been quiet (under QUIET_CPU of CPU per second for QUIET_MS); at a
 * short one the process is never quiet (the next refresh cycle starts), so it is read every POLL_MS.
 */
const QUIET_CPU = 0.05;
const QUIET_MS = 15_000;
const POLL_MS = 2000;

/** The objects that synced successfully since the controller started. */
async function syncedObjects(controller: ControllerProcess): Promise<number> {
  const metrics = await (await fetch(controller.url('/metrics'))).text();
  return metrics.match(/^kubernetes_external_secrets_sync_calls_count\{.*status="success".*$/gm)?.length ?? 0;
}

export interface RestartFigures {
  readyMs: number;
  /** The controller's initial LISTs (ExternalSecrets, Secrets, Namespaces), the API server's own time. */
  listMs: Record<string, number>;
  /** From the start until the first pass was over (its last busy second). */
  passMs: number;
  /** Objects with a successful sync in the new process. */
  syncs: number;
  syncErrors: number;
  backendCalls: Record<string, number>;
  backendCallsTotal: number;
  stsCalls: number;
  vaultLogins: number;
  apiWrites: number;
  apiReads: number;
  apiRequestsByVerb: Record<string, number>;
  peakRssMiB: number;
  rssAfterPassMiB: number;
  cpuSeconds: number;
}

/** VmHWM: the most resident memory the process has had. */
function peakRssBytes(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}

/** Starts the controller anew (`start`), waits for Ready and for its first pass to end, and measures both. */
export async function measureRestart(
  start: () => Promise<ControllerProcess>,
  proxy: CountingAwsProxy,
  namespace: string,
  { objects, longInterval }: { objects: number; longInterval: boolean },
): Promise<{ controller: ControllerProcess; figures: RestartFigures }> {
  const awsBefore = new Map(proxy.calls);
  const vaultMark = vaultAuditMark();
  const auditMark = apiAuditMark();
  const startedAt = Date.now();
  const controller = await start();
  const pid = controller.child.pid!;
  await controller.waitHealthy('/readyz', 15 * 60_000);
  const readyMs = Date.now() - startedAt;

  let busyUntil = Date.now();
  let lastCpu = processStats(pid).cpuSeconds;
  let passEndedAt: number | undefined;
  let lastPollAt = 0;
  for (let lastAt = Date.now(); passEndedAt === undefined;) {
    if (Date.now() - startedAt > 30 * 60_000) throw new Error('the restart pass did not end in 30 minutes');
    await sleep(1000);
    const cpu = processStats(pid).cpuSeconds;
    const now = Date.now();
    if ((cpu - lastCpu) / ((now - lastAt) / 1000) >= QUIET_CPU) busyUntil = now;
    [lastCpu, lastAt] = [cpu, now];
    const quiet = now - busyUntil >= QUIET_MS;
    const poll = !longInterval && now - lastPollAt >= POLL_MS;
    if (poll) lastPollAt = now;
    if (!quiet && !poll) continue;
    if ((await syncedObjects(controller)) >= objects) passEndedAt = quiet ? busyUntil : now;
    // Quiet, yet not every object synced (retries backing off): another quiet spell before the next look.
    else if (quiet) busyUntil = now;
  }
  const stats = processStats(pid);

  const awsCalls = (operation: string) => (proxy.calls.get(operation) ?? 0) - (awsBefore.get(operation) ?? 0);
  const backendCalls = {
    BatchGetSecretValue: awsCalls('BatchGetSecretValue'),
    GetSecretValue: awsCalls('GetSecretValue'),
    GetParameters: awsCalls('GetParameters'),
    vaultRead: auditedRequests(/^secret\/data\/bench\//, vaultMark),
  };
  const requests = auditedApiRequests(auditMark, CONTROLLER_USER_AGENT);
  const apiRequestsByVerb: Record<string, number> = {};
  const listMs: Record<string, number> = {};
  for (const { verb, resource, subresource, ms, namespace: inNamespace } of requests) {
    const label = `${verb} ${resource}${subresource ? `/${subresource}` : ''}`;
    apiRequestsByVerb[label] = (apiRequestsByVerb[label] ?? 0) + 1;
    // The informers' lists: of the benchmark's namespace, and the cluster's Namespaces.
    if (verb === 'LIST' && ms !== undefined && (inNamespace === namespace || resource === 'namespaces'))
      listMs[resource] = Math.max(listMs[resource] ?? 0, ms);
  }
  const count = (verbs: string[]) => requests.filter((request) => verbs.includes(request.verb)).length;
  return {
    controller,
    figures: {
      readyMs,
      listMs,
      passMs: passEndedAt - startedAt,
      syncs: await syncedObjects(controller),
      syncErrors: await controllerMetric(
        controller,
        /^kubernetes_external_secrets_sync_calls_count\{.*status="error"/,
      ),
      backendCalls,
      backendCallsTotal: Object.values(backendCalls).reduce((sum, calls) => sum + calls, 0),
      stsCalls: awsCalls('AssumeRole'),
      vaultLogins: auditedRequests('auth/kubernetes/login', vaultMark),
      apiWrites: count(['POST', 'PUT', 'PATCH', 'DELETE']),
      apiReads: count(['GET', 'LIST']),
      apiRequestsByVerb,
      peakRssMiB: peakRssBytes(pid) / 2 ** 20,
      rssAfterPassMiB: stats.rssBytes / 2 ** 20,
      cpuSeconds: stats.cpuSeconds,
    },
  };
}
