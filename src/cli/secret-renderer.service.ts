import { Inject, Injectable } from '@nestjs/common';
import { BackendRegistry } from '../backends/backend-registry.service.js';
import { ValueFetcher } from '../backends/value-fetcher.service.js';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';
import type { ExternalSecret } from '../domain/external-secret.js';
import { normalizeSpec } from '../domain/normalize-spec.js';
import type { DesiredSecret } from '../domain/secret-manifest.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import { classifyFailure } from '../sync/sync-failure.js';
import { desiredSecretOf, planFetch } from '../sync/fetch-plan.js';

/** What rendering one ExternalSecret gave: the Secret, or the message the controller would put in status. */
export type RenderResult =
  | { readonly ok: true; readonly secret: DesiredSecret }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/** Builds the Secret of an ExternalSecret exactly as the controller does: the same plan, fetch and build. */
@Injectable()
export class SecretRenderer {
  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly backends: BackendRegistry,
    private readonly fetcher: ValueFetcher,
    private readonly metrics: ControllerMetrics,
  ) {}

  async render(
    externalSecret: ExternalSecret,
    namespaceAnnotations?: Record<string, string>,
  ): Promise<RenderResult> {
    try {
      const spec = normalizeSpec(externalSecret);
      const plan = planFetch(externalSecret, spec, {
        backends: this.backends,
        config: this.config,
        namespaceAnnotations,
      });
      const values = await this.fetcher.fetch(plan.backend, plan.identity, plan.requests, Date.now());
      const policy = spec.deletionPolicy ?? this.config.defaultDeletionPolicy;
      return { ok: true, secret: desiredSecretOf(externalSecret, spec, values, policy) };
    } catch (error) {
      const { reason, message } = classifyFailure(error);
      return { ok: false, reason, message };
    }
  }

  /** `secretsManager BatchGetSecretValue 1, sts AssumeRole 1`: the calls made so far (names, never values). */
  async callReport(): Promise<string> {
    const counts = await this.metrics.backendCallCounts();
    const parts = counts
      .filter(({ count }) => count > 0)
      .map(
        ({ labels, count }) =>
          `${labels.backend} ${labels.operation}${labels.status === 'error' ? ' (failed)' : ''} ${count}`,
      );
    return parts.length > 0 ? parts.join(', ') : 'none';
  }
}
