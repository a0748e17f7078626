import { BackendError, sanitizeErrorText } from '../backends/backend-errors.js';
import { RemoteKeyNotFoundError } from '../domain/remote-value.js';
import { KubeApiError } from '../kubernetes/api-errors.js';
import { EventReason } from '../kubernetes/event-recorder.service.js';
import { InvalidSpecError } from '../domain/normalize-spec.js';
import { ValueError } from '../domain/secret-data.js';
import { SecretTooLargeError } from '../domain/secret-manifest.js';
import { TemplateError } from '../domain/template.js';

/** A sync failure with the reason and message that status, the event and the log line carry. */
export class SyncFailure extends Error {
  constructor(
    readonly reason: EventReason,
    message: string,
    /** Whether retrying (with backoff) may help: an outage may pass, a bad spec or a missing key will not. */
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/**
 * What a failed sync reports and whether it is retried. A bad spec, a missing key or value, a template or size
 * error waits for a change (the next refresh or spec change tries again, no backoff loop); backend outages,
 * throttling and API-server refusals other than 422 Invalid are retried. Unknown errors are retried too, their
 * text sanitised.
 */
export function classifyFailure(error: unknown): SyncFailure {
  if (error instanceof SyncFailure) return error;
  if (error instanceof InvalidSpecError)
    return new SyncFailure(EventReason.InvalidSpec, error.message, false);
  if (
    error instanceof RemoteKeyNotFoundError ||
    error instanceof ValueError ||
    error instanceof TemplateError ||
    error instanceof SecretTooLargeError
  ) {
    return new SyncFailure(EventReason.SyncFailed, error.message, false);
  }
  if (error instanceof BackendError)
    return new SyncFailure(EventReason.SyncFailed, error.message, error.transient);
  if (error instanceof KubeApiError)
    return new SyncFailure(EventReason.SyncFailed, sanitizeErrorText(error.message), error.code !== 422);
  const message = error instanceof Error ? error.message : String(error);
  return new SyncFailure(EventReason.SyncFailed, sanitizeErrorText(message), true);
}
