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
});
