/** A call that got no answer within its deadline; the request itself may still be open underneath. */
export class DeadlineExceededError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Settles within `ms` whatever the call does: its own result if it comes in time, else a DeadlineExceededError.
 * An AbortSignal handed to fetch is not enough for a loop that must go on (leader election): the signal only
 * works while undici keeps the request's own controller alive, and a collected one never aborts (undici issue
 * 4068). A late result or failure of the call is observed here and dropped.
 */
export function withinDeadline<T>(ms: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}
