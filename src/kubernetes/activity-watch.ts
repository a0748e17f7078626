import { Watch, type KubeConfig } from '@kubernetes/client-node';

/**
 * A Watch that asks the API server to end every watch after `timeoutSeconds` (KES's WATCH_TIMEOUT), with
 * bookmarks, and records when it last heard from the server. The informer reconnects from its resource version
 * after each end (no re-list), so a healthy watch shows activity at least once per timeout; a watch stuck on a
 * frozen connection shows none, which is what the liveness probe looks for. Objects reach the cache through
 * `prepare` (by default: without their managed fields).
 */
export class ActivityWatch extends Watch {
  /** Epoch ms of the last watch established or event received. */
  lastActivity = Date.now();

  constructor(
    kubeConfig: KubeConfig,
    private readonly timeoutSeconds: number,
    private readonly prepare: (object: unknown) => unknown = withoutManagedFields,
  ) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<AbortController> {
    let failed = false;
    const controller = await super.watch(
      path,
      { ...queryParams, timeoutSeconds: this.timeoutSeconds, allowWatchBookmarks: true },
      (phase, object, watchObject) => {
        this.lastActivity = Date.now();
        callback(phase, this.prepare(object), watchObject);
      },
      (error: unknown) => {
        if (error) failed = true;
        done(error);
      },
    );
    if (!failed) this.lastActivity = Date.now();
    return controller;
  }
}

/**
 * Drops `metadata.managedFields` (server-side apply bookkeeping, often the largest part of an object) from
 * objects headed for an informer cache: the controller never reads them, and the cache is most of its memory.
 */
export function withoutManagedFields<T>(object: T): T {
  const metadata = (object as { metadata?: { managedFields?: unknown } } | undefined)?.metadata;
  if (metadata?.managedFields !== undefined) delete metadata.managedFields;
  return object;
}
