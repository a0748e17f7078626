import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { ControllerMetrics } from './controller-metrics.service.js';

/** Prometheus metrics on `/metrics` of the METRICS_PORT server, with Node's process metrics. */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } })],
  providers: [ControllerMetrics],
  exports: [ControllerMetrics],
})
export class MetricsModule {}
