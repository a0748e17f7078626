/**
 * When each ExternalSecret refreshes next. Objects that read through the same identity share a phase, so a
 * whole identity comes due at once and its reads are fetched together in full batches; different identities
 * are spread over the interval, so a restart does not refresh everything in lock-step.
 *
 * Objects of one identity with different intervals (spec.refreshInterval) keep the identity's phase: each is
 * due at the instants `phase + n × its interval`. When one interval is a multiple of another (10 s and 1 h,
 * 30 s and 5 m), every due instant of the longer one is also one of the shorter: the long-interval object joins
 * the short ones' batch of that tick and costs no call of its own.
 */
export class RefreshScheduler {
  private readonly due = new Map<string, { at: number; group: string }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Schedules the key's next refresh at its group's next phase, within one interval: a value change reaches
   * the Secret within one interval even right after an object's first sync. An early first refresh costs no
   * extra backend call, since the whole group is fetched together at that tick anyway. An interval of 0 means
   * never (the key is not scheduled).
   */
  schedule(key: string, group: string, intervalMs = this.intervalMs): void {
    if (intervalMs <= 0) {
      this.due.delete(key);
      return;
    }
    const now = this.now();
    // The same absolute offset for every interval: t ≡ offset (mod interval) for each of them.
    const phase = hash(group) % intervalMs;
    const at = now - ((((now - phase) % intervalMs) + intervalMs) % intervalMs) + intervalMs;
    this.due.set(key, { at, group });
  }

  unschedule(key: string): void {
    this.due.delete(key);
  }

  /** Removes and returns the keys due by now, grouped. */
  takeDue(): Map<string, string[]> {
    const now = this.now();
    const groups = new Map<string, string[]>();
    for (const [key, { at, group }] of this.due) {
      if (at > now) continue;
      this.due.delete(key);
      const keys = groups.get(group) ?? [];
      keys.push(key);
      groups.set(group, keys);
    }
    return groups;
  }

  get size(): number {
    return this.due.size;
  }
}

/** FNV-1a: a stable, well-spread phase per group. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}
