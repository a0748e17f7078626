import type { ExternalSecretCondition, ExternalSecretStatus } from './external-secret.js';

export type SyncOutcome =
  { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly message: string };

/**
 * The status to write after a sync, or undefined when the current one already says the same thing (status is
 * written only on a change: KES wrote it on every poll). `lastSync` moves when the status changes or the
 * Secret was written.
 */
export function nextStatus(
  current: ExternalSecretStatus | undefined,
  generation: number | undefined,
  outcome: SyncOutcome,
  secretWritten: boolean,
  now: Date,
): ExternalSecretStatus | undefined {
  const text = outcome.ok ? 'SUCCESS' : `ERROR, ${outcome.message}`;
  const ready: ExternalSecretCondition = outcome.ok
    ? { type: 'Ready', status: 'True', reason: 'Synced', message: 'the Secret is in sync' }
    : { type: 'Ready', status: 'False', reason: outcome.reason, message: outcome.message };
  const previous = current?.conditions?.find((condition) => condition.type === 'Ready');
  const unchanged =
    current?.status === text &&
    current.observedGeneration === generation &&
    previous?.status === ready.status &&
    previous.reason === ready.reason &&
    previous.message === ready.message;
  if (unchanged && !secretWritten) return undefined;
  const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    status: text,
    lastSync: timestamp,
    observedGeneration: generation,
    conditions: [
      {
        ...ready,
        observedGeneration: generation,
        lastTransitionTime:
          previous?.status === ready.status && previous.lastTransitionTime
            ? previous.lastTransitionTime
            : timestamp,
      },
    ],
  };
}

/**
 * Whether a failure is new enough to report with a Warning event and a `warn` log line: when the status text
 * changes (a new error, or another one). A failure that repeats is logged at debug only: no floods.
 */
export function isNewFailure(
  current: ExternalSecretStatus | undefined,
  next: ExternalSecretStatus | undefined,
): boolean {
  return next !== undefined && current?.status !== next.status;
}
