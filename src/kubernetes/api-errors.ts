import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed Kubernetes API call, or undefined when the call never got an answer. */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ApiException) {
    return error.code;
  }
  return undefined;
}
