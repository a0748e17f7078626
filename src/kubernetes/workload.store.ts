import { Inject, Injectable } from '@nestjs/common';
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { RolloutRestartTarget } from '../domain/normalize-spec.js';
import { apiCall } from './api-errors.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';
import { FIELD_MANAGER, KUBE_CONFIG } from './kubernetes.constants.js';

/** The pod template annotation `kubectl rollout restart` sets; a change of it rolls the workload. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Restarts Deployments, StatefulSets and DaemonSets the way `kubectl rollout restart` does. */
@Injectable()
export class WorkloadStore {
  private readonly apps: AppsV1Api;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    private readonly writes: WriteRateLimiter,
  ) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
  }

  /** One strategic-merge patch of the pod template's restartedAt annotation (RFC 3339, as kubectl writes it). */
  async restart(namespace: string, target: RolloutRestartTarget, at: Date): Promise<void> {
    const { kind, name } = target;
    const body = {
      spec: {
        template: {
          metadata: {
            annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString().replace(/\.\d{3}Z$/, 'Z') },
          },
        },
      },
    };
    const request = { name, namespace, body, fieldManager: FIELD_MANAGER };
    const options = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    await this.writes.acquire();
    const resource = `${kind.toLowerCase()}s.apps ${namespace}/${name}`;
    await apiCall(`patch ${resource}`, () => {
      switch (kind) {
        case 'Deployment':
          return this.apps.patchNamespacedDeployment(request, options);
        case 'StatefulSet':
          return this.apps.patchNamespacedStatefulSet(request, options);
        case 'DaemonSet':
          return this.apps.patchNamespacedDaemonSet(request, options);
      }
    });
  }
}
