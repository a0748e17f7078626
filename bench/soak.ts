/**
 * The soak (`--soak-minutes`): the workload kept changing while the AWS endpoint fails now and then, to see that
 * memory stays flat, the controller backs off while AWS is away, and every change still arrives.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountingAwsProxy } from '../test/support/aws.js';
import type { ControllerProcess } from '../test/support/controller-process.js';
import { controllerMetric, processStats, syncErrorCount, trendPerHour } from './measure.js';
import { change, ownKey, secretHolds, type Clients, type ObjectPlan } from './workload.js';

export interface SoakReport {
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

/**
 * For `minutes`, change a few remote values every interval, and every third minute take the AWS endpoint away
 * for 30 s, then throttle it for 30 s. Samples RSS and event-loop lag, counts sync errors, and checks at the end
 * that every change arrived.
 */
export async function soak(
  minutes: number,
  intervalMs: number,
  clients: Clients,
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
  const candidates = plans.filter((plan) => ownKey(plan) !== undefined);
  const errorsBefore = await syncErrorCount(controller);
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
      const key = ownKey(plan)!;
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
      if (await secretHolds(clients, namespace, plan, slot, value)) {
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
    syncErrors: (await syncErrorCount(controller)) - errorsBefore,
    awsCallsPerSecondByMode: Object.fromEntries(
      [...byMode].map(([mode, { calls, seconds }]) => [mode, Number((calls / seconds).toFixed(2))]),
    ),
    changesMade: changes,
    keysChanged: latest.size,
    changesArrived: arrived,
    faults,
  };
}
