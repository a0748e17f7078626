import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed Kubernetes API call, or undefined when the call never got an answer. */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiException) {
    return error.code;
  }
  return undefined;
}

/** The API server's own Status message of a failed call (the client's error text wraps it in noise). */
export function apiErrorMessage(error: unknown): string | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return `the API server refused the write (${error.code}): ${status.message}`;
    } catch {
      // not a Status object; fall through to the code alone
    }
  }
  return `the API server answered ${error.code}`;
}
