import type { ExternalSecretCondition, ExternalSecretStatus } from './external-secret.js';

/** What a status says beyond the sync's outcome. */
export interface StatusExtras {
  /** What the write changed (key names only, e.g. `changed password; added api-key`), when it changed keys. */
  readonly writeSummary?: string;
  /** The RolloutRestart condition to show; undefined keeps the current one (if any) as it is. */
  readonly rolloutRestart?: ExternalSecretCondition;
  /**
   * The value of the SYNC_REQUEST_ANNOTATION this sync answered: echoed as `status.syncRequest`, so that who
   * asked (`kes sync`) sees the sync happen even when it changed nothing. One status write per request.
   */
  readonly syncRequest?: string;
}

/** The annotation `kes sync` sets (any change of an annotation forces a sync; this one is also answered). */
export const SYNC_REQUEST_ANNOTATION = 'kubernetes-client.io/sync-requested-at';

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
  extras: StatusExtras = {},
): ExternalSecretStatus | undefined {
  const { writeSummary, rolloutRestart, syncRequest } = extras;
  const text = outcome.ok ? 'SUCCESS' : `ERROR, ${outcome.message}`;
  const previous = current?.conditions?.find((condition) => condition.type === 'Ready');
  const ready: ExternalSecretCondition = outcome.ok
    ? { type: 'Ready', status: 'True', reason: 'Synced', message: syncedMessage(previous, writeSummary) }
    : { type: 'Ready', status: 'False', reason: outcome.reason, message: outcome.message };
  const previousRestart = current?.conditions?.find((condition) => condition.type === ROLLOUT_RESTART);
  const restartChanged =
    rolloutRestart !== undefined &&
    (previousRestart?.status !== rolloutRestart.status ||
      previousRestart.reason !== rolloutRestart.reason ||
      previousRestart.message !== rolloutRestart.message);
  const unchanged =
    current?.status === text &&
    current.observedGeneration === generation &&
    previous?.status === ready.status &&
    previous.reason === ready.reason &&
    previous.message === ready.message &&
    !restartChanged &&
    (syncRequest === undefined || current.syncRequest === syncRequest);
  if (unchanged && !secretWritten) return undefined;
  const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const restart = restartChanged
    ? {
        ...rolloutRestart,
        observedGeneration: generation,
        lastTransitionTime:
          previousRestart?.status === rolloutRestart.status && previousRestart.lastTransitionTime
            ? previousRestart.lastTransitionTime
            : timestamp,
      }
    : previousRestart;
  return {
    status: text,
    lastSync: timestamp,
    observedGeneration: generation,
    ...((syncRequest ?? current?.syncRequest) !== undefined
      ? { syncRequest: syncRequest ?? current?.syncRequest }
      : {}),
    conditions: [
      {
        ...ready,
        observedGeneration: generation,
        lastTransitionTime:
          previous?.status === ready.status && previous.lastTransitionTime
            ? previous.lastTransitionTime
            : timestamp,
      },
      ...(restart ? [restart] : []),
    ],
  };
}

/** The condition type that tells how the last restart of the rolloutRestartTargets went. */
export const ROLLOUT_RESTART = 'RolloutRestart';

const IN_SYNC = 'the Secret is in sync';

/**
 * The Ready message of a good sync names what the last write changed, and keeps naming it while later syncs
 * write nothing: the message stays the same, so an idle cycle still writes no status.
 */
function syncedMessage(
  previous: ExternalSecretCondition | undefined,
  writeSummary: string | undefined,
): string {
  if (writeSummary) return `${IN_SYNC}; last write: ${writeSummary}`;
  if (previous?.status === 'True' && previous.message?.startsWith(IN_SYNC)) return previous.message;
  return IN_SYNC;
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
