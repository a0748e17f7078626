import { Inject, Injectable } from '@nestjs/common';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import type { DesiredSecret } from '../sync/secret-manifest.js';
import { apiCall, statusCodeOf } from './api-errors.js';
import { WriteRateLimiter } from './write-rate-limiter.js';
import { FIELD_MANAGER, KUBE_CONFIG } from './kubernetes.constants.js';

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
   * Creates or updates with server-side apply: this controller owns the fields it sets, so labels, annotations
   * and owner references that other tools put on the Secret stay, and keys it stops setting are removed.
   */
  async apply(secret: DesiredSecret): Promise<V1Secret> {
    await this.writes.acquire();
    const { name, namespace } = secret.metadata;
    return apiCall(`apply secrets ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        { name, namespace, body: secret, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
  }
}
