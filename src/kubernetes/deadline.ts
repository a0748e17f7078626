/** A call that got no answer within its deadline; the request itself may still be open underneath. */
export class DeadlineExceededError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Settles within `ms` whatever the call does: its own result if it comes in time, else a DeadlineExceededError.
 * For a loop that must go on (leader election) the request's AbortSignal is the first line: it ends the request
 * and closes its connection. This one makes the loop's progress independent of it: a call that never settles,
 * for whatever reason, would leave a standby silent for good. A late result or failure of the call is observed
 * here and dropped.
 */
export function withinDeadline<T>(ms: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}
