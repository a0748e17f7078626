/**
 * When each ExternalSecret refreshes next. Objects that read through the same identity share a phase within
 * the refresh interval, so a whole identity comes due at once and its reads are fetched together in full
 * batches; different identities are spread over the interval, so a restart does not refresh everything in
 * lock-step.
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
   * extra backend call, since the whole group is fetched together at that tick anyway.
   */
  schedule(key: string, group: string): void {
    const now = this.now();
    const phase = hash(group) % this.intervalMs;
    const at =
      now - ((((now - phase) % this.intervalMs) + this.intervalMs) % this.intervalMs) + this.intervalMs;
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
