import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextDueAt, RefreshScheduler } from './refresh-scheduler.js';

describe('RefreshScheduler', () => {
  it('brings a group due together, one interval later, and spreads groups over the interval', () => {
    let now = 1_000_000;
    const scheduler = new RefreshScheduler(10_000, () => now);
    scheduler.schedule('ns/a', 'secretsManager|us-east-1|');
    now += 1234;
    scheduler.schedule('ns/b', 'secretsManager|us-east-1|');
    scheduler.schedule('ns/c', 'systemManager|us-east-1|');
    expect(scheduler.takeDue().size).toBe(0);

    const dueTimes = new Map<string, number>();
    for (let step = 0; step < 25_000; step += 100) {
      now += 100;
      for (const keys of scheduler.takeDue().values()) for (const key of keys) dueTimes.set(key, now);
    }
    // Same group, same phase: due at the same tick, or whole intervals apart when scheduled at different times.
    expect((dueTimes.get('ns/b')! - dueTimes.get('ns/a')!) % 10_000).toBe(0);
    expect(dueTimes.has('ns/c')).toBe(true);
    // Never later than one interval after being scheduled, so a change propagates within one interval.
    expect(dueTimes.get('ns/a')! - 1_000_000).toBeLessThanOrEqual(10_000 + 100);
    for (const key of ['ns/b', 'ns/c'])
      expect(dueTimes.get(key)! - 1_001_234).toBeLessThanOrEqual(10_000 + 100);
    expect(scheduler.size).toBe(0);
  });

  it('forgets unscheduled keys', () => {
    let now = 0;
    const scheduler = new RefreshScheduler(1000, () => now);
    scheduler.schedule('ns/a', 'g');
    scheduler.unschedule('ns/a');
    now = 5000;
    expect(scheduler.takeDue().size).toBe(0);
  });

  it('never schedules an interval of 0', () => {
    let now = 0;
    const scheduler = new RefreshScheduler(1000, () => now);
    scheduler.schedule('ns/a', 'g', 0);
    expect(scheduler.size).toBe(0);
    scheduler.schedule('ns/b', 'g', 1000);
    scheduler.schedule('ns/b', 'g', 0);
    now = 10_000;
    expect(scheduler.takeDue().size).toBe(0);
  });

  it.each([
    // [intervals of the objects of one identity (ms), simulated time (ms), due count of each]
    [[2_000, 10_000, 3_600_000], 7_200_000, [3600, 720, 2]],
    [[10_000, 3_600_000], 7_200_000, [720, 2]],
    [[30_000, 300_000, 900_000], 1_800_000, [60, 6, 2]],
  ])(
    'objects of one identity with intervals %j are due on the shortest one’s ticks (%d ms)',
    (intervals, duration, counts) => {
      let now = 5_000_000;
      const scheduler = new RefreshScheduler(10_000, () => now);
      const group = 'secretsManager|us-east-1|';
      const keys = intervals.map((_, index) => `ns/o${index}`);
      const interval = new Map(keys.map((key, index) => [key, intervals[index]!]));
      for (const key of keys) scheduler.schedule(key, group, interval.get(key));
      const dueTicks = new Map(keys.map((key) => [key, new Set<number>()]));
      const end = now + duration;
      // Each tick, what is due is refreshed and scheduled again, as SyncService does after a reconcile.
      while (now < end) {
        now += 200;
        for (const dueKeys of scheduler.takeDue().values()) {
          for (const key of dueKeys) {
            dueTicks.get(key)!.add(now);
            scheduler.schedule(key, group, interval.get(key));
          }
        }
      }
      expect(keys.map((key) => dueTicks.get(key)!.size)).toEqual(counts);
      // Every tick of a longer interval is a tick of the shortest: one batch, no call of its own.
      const shortest = dueTicks.get(keys[0]!)!;
      for (const key of keys.slice(1))
        for (const tick of dueTicks.get(key)!) expect(shortest.has(tick)).toBe(true);
    },
  );

  it('moves a rescheduled key: it is due at its new instant only', () => {
    let now = 0;
    const scheduler = new RefreshScheduler(1000, () => now);
    scheduler.schedule('ns/a', 'g', 1000);
    scheduler.schedule('ns/b', 'g', 1000);
    now = 500;
    scheduler.schedule('ns/a', 'g', 10_000);
    now = 1000;
    const due = scheduler.takeDue();
    expect([...due.values()].flat()).toEqual(['ns/b']);
    expect(scheduler.size).toBe(1);
  });

  /** The same decisions made plainly: every key's instant (by nextDueAt), all of them scanned on each take. */
  class NaiveScheduler {
    readonly due = new Map<string, { at: number; group: string }>();
    constructor(private readonly now: () => number) {}
    schedule(key: string, group: string, intervalMs: number) {
      this.due.delete(key);
      if (intervalMs > 0) this.due.set(key, { at: nextDueAt(this.now(), group, intervalMs), group });
    }
    takeDue() {
      const taken = new Map<string, Set<string>>();
      for (const [key, { at, group }] of this.due) {
        if (at > this.now()) continue;
        this.due.delete(key);
        taken.set(group, (taken.get(group) ?? new Set()).add(key));
      }
      return taken;
    }
  }
  const groups = ['g1', 'g2', 'g3', 'secretsManager|us-east-1|'];

  it('takes exactly what a scan of every key would, in any sequence of schedules, removals and ticks', () => {
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant('schedule' as const),
        key: fc.integer({ min: 0, max: 20 }),
        group: fc.constantFrom(...groups),
        intervalMs: fc.constantFrom(0, 1000, 3000, 10_000, 60_000),
      }),
      fc.record({ kind: fc.constant('unschedule' as const), key: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        let now = 1_000_000;
        const scheduler = new RefreshScheduler(10_000, () => now);
        const naive = new NaiveScheduler(() => now);
        for (const step of operations) {
          if (step.kind === 'schedule') {
            scheduler.schedule(`ns/${step.key}`, step.group, step.intervalMs);
            naive.schedule(`ns/${step.key}`, step.group, step.intervalMs);
          } else if (step.kind === 'unschedule') {
            scheduler.unschedule(`ns/${step.key}`);
            naive.due.delete(`ns/${step.key}`);
          } else {
            now += step.ms;
            const taken = new Map([...scheduler.takeDue()].map(([group, keys]) => [group, new Set(keys)]));
            expect(taken).toEqual(naive.takeDue());
          }
          expect(scheduler.size).toBe(naive.due.size);
        }
      }),
    );
  });
});
