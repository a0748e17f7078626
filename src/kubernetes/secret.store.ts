import { Inject, Injectable } from '@nestjs/common';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import { EXTERNAL_SECRET_ANNOTATION, MANAGED_LABEL, type DesiredSecret } from '../domain/secret-manifest.js';
import { apiCall, statusCodeOf } from './api-errors.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';
import { FIELD_MANAGER, KUBE_CONFIG } from './kubernetes.constants.js';

/** The field manager of the labels and annotations of other tools carried over to a replaced Secret. */
const CARRY_OVER_MANAGER = `${FIELD_MANAGER}-carried-over`;

/** Reads and writes the Secrets this controller manages. */
@Injectable()
export class SecretStore {
  private readonly core: CoreV1Api;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    private readonly writes: WriteRateLimiter,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** A direct GET, for cache misses (e.g. a Secret that KES created without our label). */
  async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await apiCall(`get secrets ${namespace}/${name}`, () =>
        this.core.readNamespacedSecret({ name, namespace }),
      );
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Replaces a Secret whose type (or immutable data) must change: deletes it, with a precondition on its uid
   * so that a Secret someone else just recreated is never deleted, then creates the desired one with
   * server-side apply. Labels and annotations other tools had put on it (not owned by this controller's
   * applies, by the live Secret's managedFields) are carried over under a field manager of their own, so later
   * applies of this controller leave them alone, as they did before.
   */
  async replace(desired: DesiredSecret, live: V1Secret): Promise<V1Secret> {
    const { name, namespace } = desired.metadata;
    // First a dry-run create: the API server validates the new Secret (e.g. a kubernetes.io/tls Secret needs
    // tls.crt and tls.key) and then finds the name taken (409). A Secret it would refuse never costs the old one.
    await this.writes.acquire();
    try {
      await apiCall(`create secrets ${namespace}/${name} (dry run)`, () =>
        this.core.createNamespacedSecret({
          namespace,
          body: desired,
          dryRun: 'All',
          fieldManager: FIELD_MANAGER,
        }),
      );
    } catch (error) {
      if (statusCodeOf(error) !== 409) throw error;
    }
    // The informer cache strips managedFields; a fresh read tells whose labels and annotations are whose.
    const current = (await this.read(namespace, name)) ?? live;
    const carried = foreignMetadata(desired, current);
    const carryOver = Object.keys(carried.labels).length + Object.keys(carried.annotations).length > 0;
    // Every write of the replacement is budgeted before the delete, so that the Secret is absent only for the
    // time of the calls themselves, not while other writes queue for the budget.
    for (let writes = carryOver ? 3 : 2; writes > 0; writes--) await this.writes.acquire();
    try {
      await apiCall(`delete secrets ${namespace}/${name}`, () =>
        this.core.deleteNamespacedSecret({
          name,
          namespace,
          body: { preconditions: { uid: current.metadata?.uid } },
        }),
      );
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
    const created = await this.applyNow(desired);
    if (!carryOver) return created;
    return apiCall(`patch secrets ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        { name, namespace, body: { metadata: carried }, fieldManager: CARRY_OVER_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  /**
   * Creates or updates with server-side apply: this controller owns the fields it sets, so labels, annotations
   * and owner references that other tools put on the Secret stay, and keys it stops setting are removed.
   */
  async apply(secret: DesiredSecret): Promise<V1Secret> {
    await this.writes.acquire();
    return this.applyNow(secret);
  }

  /**
   * Removes one owner reference that server-side apply cannot (another field manager set it, e.g. KES):
   * a strategic-merge delete by uid, leaving every other reference as it is.
   */
  async removeOwnerReference(namespace: string, name: string, uid: string): Promise<V1Secret> {
    await this.writes.acquire();
    return apiCall(`patch secrets ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        {
          name,
          namespace,
          body: { metadata: { ownerReferences: [{ uid, $patch: 'delete' }] } },
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
  }

  /**
   * Lets go of a Secret that deletionPolicy Retain keeps: removes the managed label and the annotation naming
   * its ExternalSecret, nothing else (its data stays as last written). The uid in the patch is a precondition:
   * a Secret of the same name created since is left alone.
   */
  async release(secret: V1Secret): Promise<void> {
    const { name, namespace, uid } = secret.metadata!;
    await this.writes.acquire();
    await apiCall(`patch secrets ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        {
          name: name!,
          namespace: namespace!,
          body: {
            metadata: {
              uid,
              labels: { [MANAGED_LABEL]: null },
              annotations: { [EXTERNAL_SECRET_ANNOTATION]: null },
            },
          },
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  private applyNow(secret: DesiredSecret): Promise<V1Secret> {
    const { name, namespace } = secret.metadata;
    return apiCall(`apply secrets ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        { name, namespace, body: secret, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
  }
}

/**
 * The labels and annotations of a live Secret that are neither in the desired Secret nor owned by this
 * controller's server-side applies (its managedFields): what other tools put there.
 */
export function foreignMetadata(
  desired: DesiredSecret,
  live: V1Secret,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const ours = live.metadata?.managedFields?.find(
    (entry) => entry.manager === FIELD_MANAGER && entry.operation === 'Apply',
  )?.fieldsV1 as { 'f:metadata'?: Record<string, Record<string, unknown>> } | undefined;
  const pick = (kind: 'labels' | 'annotations') => {
    const owned = ours?.['f:metadata']?.[`f:${kind}`] ?? {};
    const wanted = desired.metadata[kind] ?? {};
    return Object.fromEntries(
      Object.entries(live.metadata?.[kind] ?? {}).filter(
        ([key]) => !(key in wanted) && !(`f:${key}` in owned),
      ),
    );
  };
  return { labels: pick('labels'), annotations: pick('annotations') };
}
