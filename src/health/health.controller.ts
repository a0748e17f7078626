import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { ProbeRegistry, type ProbeReport } from './probe-registry.service.js';

/**
 * `/healthz` (liveness: the event loop answers and no component is stuck) and `/readyz` (readiness:
 * every component is ready, e.g. each informer has its initial list cached).
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly probes: ProbeRegistry,
  ) {}

  @Get('healthz')
  @HealthCheck()
  liveness() {
    return this.health.check(this.indicatorsFor(this.probes.liveness()));
  }

  @Get('readyz')
  @HealthCheck()
  readiness() {
    return this.health.check(this.indicatorsFor(this.probes.readiness()));
  }

  private indicatorsFor(reports: Map<string, ProbeReport>): Array<() => HealthIndicatorResult> {
    return [...reports].map(([name, report]) => () => {
      const indicator = this.indicators.check(name);
      return report.ok ? indicator.up() : indicator.down({ message: report.detail ?? 'not ok' });
    });
  }
}
