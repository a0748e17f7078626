/** Exponential backoff: the first delay, doubling on each further failure up to the cap. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The delay after the `failures`-th failure in a row (1 for the first): `initialMs` doubling up to `maxMs`, with
 * equal jitter (half of it fixed, half random), so that many retrying at once spread out and yet none comes
 * back much earlier than its backoff. The work queue, informer restarts and the fetcher's per-identity backoff
 * all use it.
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
  return ceiling * (0.5 + random() / 2);
}

/** A period stretched by up to `fraction` at random (client-go's JitterUntil), e.g. a standby's lease retries. */
export function jittered(periodMs: number, fraction: number, random: () => number = Math.random): number {
  return periodMs * (1 + random() * fraction);
}
