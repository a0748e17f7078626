import { Inject, Injectable } from '@nestjs/common';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { ExternalSecretStatus } from '../domain/external-secret.js';
import { apiCall } from './api-errors.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';
import {
  EXTERNAL_SECRET_GROUP,
  EXTERNAL_SECRET_PLURAL,
  EXTERNAL_SECRET_VERSION,
  KUBE_CONFIG,
} from './kubernetes.constants.js';

/** Writes ExternalSecret status through the status subresource. */
@Injectable()
export class ExternalSecretStatusStore {
  private readonly customObjects: CustomObjectsApi;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    private readonly writes: WriteRateLimiter,
  ) {
    this.customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async write(namespace: string, name: string, status: ExternalSecretStatus): Promise<void> {
    await this.writes.acquire();
    await apiCall(`patch externalsecrets/status ${namespace}/${name}`, () =>
      this.customObjects.patchNamespacedCustomObjectStatus(
        {
          group: EXTERNAL_SECRET_GROUP,
          version: EXTERNAL_SECRET_VERSION,
          plural: EXTERNAL_SECRET_PLURAL,
          namespace,
          name,
          body: { status },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }
}
