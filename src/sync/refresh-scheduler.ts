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
  /** Each scheduled key's due instant. */
  private readonly dueAt = new Map<string, number>();
  /**
   * The keys due at each instant, with their groups. A group's objects share their instants, so there are few,
   * and a tick looks only at the instants that have come: walking every key five times a second was, at 10,000
   * objects on a 1 h interval, 39 % of an idle hour's CPU.
   */
  private readonly keysByInstant = new Map<number, Map<string, string>>();
  /** The instants of keysByInstant, ascending. */
  private readonly instants: number[] = [];

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
    this.unschedule(key);
    if (intervalMs <= 0) return;
    const at = nextDueAt(this.now(), group, intervalMs);
    this.dueAt.set(key, at);
    const keys = this.keysByInstant.get(at);
    if (keys) {
      keys.set(key, group);
      return;
    }
    this.keysByInstant.set(at, new Map([[key, group]]));
    this.instants.splice(insertionIndex(this.instants, at), 0, at);
  }

  unschedule(key: string): void {
    const at = this.dueAt.get(key);
    if (at === undefined) return;
    this.dueAt.delete(key);
    const keys = this.keysByInstant.get(at)!;
    keys.delete(key);
    if (keys.size > 0) return;
    this.keysByInstant.delete(at);
    this.instants.splice(insertionIndex(this.instants, at), 1);
  }

  /** Removes and returns the keys due by now, grouped. */
  takeDue(): Map<string, string[]> {
    const now = this.now();
    const groups = new Map<string, string[]>();
    let dueInstants = 0;
    while (dueInstants < this.instants.length && this.instants[dueInstants]! <= now) {
      const at = this.instants[dueInstants++]!;
      for (const [key, group] of this.keysByInstant.get(at)!) {
        this.dueAt.delete(key);
        const keys = groups.get(group) ?? [];
        keys.push(key);
        groups.set(group, keys);
      }
      this.keysByInstant.delete(at);
    }
    this.instants.splice(0, dueInstants);
    return groups;
  }

  get size(): number {
    return this.dueAt.size;
  }
}

/** The group's next phase after `now`: the same absolute offset for every interval, t ≡ offset (mod interval). */
export function nextDueAt(now: number, group: string, intervalMs: number): number {
  const phase = hash(group) % intervalMs;
  return now - ((((now - phase) % intervalMs) + intervalMs) % intervalMs) + intervalMs;
}

/** The first index of the ascending `values` whose value is not below `value` (binary search). */
function insertionIndex(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
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
