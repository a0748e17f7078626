import { Inject, Injectable } from '@nestjs/common';
import { CoreV1Api, type KubeConfig, type V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logging.constants.js';
import { apiCall, isNamespaceTerminating } from './api-errors.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';
import { FIELD_MANAGER, KUBE_CONFIG } from './kubernetes.constants.js';

/** Event reasons of this controller (one vocabulary, documented in the README). */
export const EventReason = {
  Created: 'Created',
  Updated: 'Updated',
  Restored: 'Restored',
  Replaced: 'Replaced',
  SyncFailed: 'SyncFailed',
  AccessDenied: 'AccessDenied',
  InvalidSpec: 'InvalidSpec',
  /** On a Secret that deletionPolicy Retain kept when its ExternalSecret was deleted. */
  Retained: 'Retained',
  RolloutRestarted: 'RolloutRestarted',
  RolloutRestartFailed: 'RolloutRestartFailed',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/**
 * Records Kubernetes Events on ExternalSecrets. A failure to record is logged, never fatal; in a namespace being
 * deleted at debug only (its objects are going away, and a warning per object would flood the log).
 */
@Injectable()
export class EventRecorder {
  private readonly core: CoreV1Api;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    private readonly writes: WriteRateLimiter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** An Event on an object: an ExternalSecret, or (for Retained) the Secret it kept. */
  async record(
    involved: { readonly apiVersion?: string; readonly kind?: string; readonly metadata: V1ObjectMeta },
    type: 'Normal' | 'Warning',
    reason: EventReason,
    message: string,
  ): Promise<void> {
    const { name, namespace, uid, resourceVersion } = involved.metadata;
    const now = new Date();
    await this.writes.acquire();
    try {
      await apiCall(`create events in ${namespace}`, () =>
        this.core.createNamespacedEvent({
          namespace: namespace!,
          body: {
            metadata: { generateName: `${name}.`, namespace },
            involvedObject: {
              apiVersion: involved.apiVersion,
              kind: involved.kind,
              name,
              namespace,
              uid,
              resourceVersion,
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component: FIELD_MANAGER },
            reportingComponent: FIELD_MANAGER,
            reportingInstance: process.env.HOSTNAME ?? FIELD_MANAGER,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      );
    } catch (error) {
      const level = isNamespaceTerminating(error) ? 'debug' : 'warn';
      this.logger[level](
        { namespace, name, reason, err: (error as Error).message },
        'could not record event',
      );
    }
  }
}
