import { describe, expect, it } from 'vitest';
import { RefreshScheduler } from './refresh-scheduler.js';

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
});
