import { STATUS_CODES } from 'node:http';
import { ApiException } from '@kubernetes/client-node';

/** The longest API error text that goes into a log line, an Event or status. */
const MAX_DESCRIPTION = 500;

interface ApiStatus {
  readonly reason?: string;
  readonly message?: string;
}

/** The `Status` object the API server sends with a refusal, from the client's error body. */
function statusOf(error: ApiException<unknown>): ApiStatus | undefined {
  const body: unknown = error.body;
  if (typeof body === 'object' && body !== null) return body;
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as ApiStatus;
  } catch {
    return undefined;
  }
}

/**
 * A failed Kubernetes API call as one readable line: the operation (verb, resource, object), the HTTP code, the
 * Status reason and message, e.g. `create events in acc-x: 403 Forbidden: unable to create new content in
 * namespace acc-x because it is being terminated`. @kubernetes/client-node's own error text spans lines and
 * carries the whole serialised response body.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** The HTTP status; undefined when the call never got an answer (connection refused, reset, timeout). */
  readonly code: number | undefined;
  readonly reason: string | undefined;
  /** The API server's own message (without the operation). */
  readonly detail: string;

  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    let code: number | undefined;
    let reason: string | undefined;
    let detail: string;
    if (cause instanceof ApiException) {
      const status = statusOf(cause);
      code = cause.code;
      reason = status?.reason || STATUS_CODES[cause.code] || undefined;
      detail = status?.message ?? '';
    } else {
      detail = cause instanceof Error ? cause.message : String(cause);
    }
    detail = detail.replace(/\s*\n\s*/g, ' ').trim();
    const answer = code === undefined ? '' : ` ${code}${reason ? ` ${reason}` : ''}`;
    const text = `${operation}:${answer}${detail ? `${answer ? ':' : ''} ${detail}` : ''}`;
    super(text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION)}…` : text, { cause });
    this.code = code;
    this.reason = reason;
    this.detail = detail;
  }
}

/** Runs one API call; a failure becomes a KubeApiError naming the operation. */
export async function apiCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof KubeApiError ? error : new KubeApiError(operation, error);
  }
}

/** The HTTP status of a failed Kubernetes API call, or undefined when the call never got an answer. */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.code;
  if (error instanceof ApiException) return error.code;
  return undefined;
}

/** Whether the API server refused a write into a namespace that is being deleted (nothing left to tell). */
export function isNamespaceTerminating(error: unknown): boolean {
  return (
    error instanceof KubeApiError && error.code === 403 && /because it is being terminated/.test(error.detail)
  );
}
