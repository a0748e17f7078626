import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { BackendsModule } from '../backends/backends.module.js';
import { ConfigModule } from '../config/config.module.js';
import type { ControllerConfig } from '../config/controller-config.js';
import { LoggingModule } from '../logging/logging.module.js';
import { ControllerMetrics } from '../metrics/controller-metrics.service.js';
import { SecretRenderer } from './secret-renderer.service.js';

/** The controller's metrics without their HTTP endpoint: the backends count their calls here. */
@Global()
@Module({ providers: [ControllerMetrics], exports: [ControllerMetrics] })
class CliMetricsModule {}

/**
 * What `kes render` and `kes diff` need of the controller, by the same injection: its configuration, logger,
 * backends (credentials, batching, Vault sessions) and metrics. No informers, no HTTP server, no writes.
 */
@Module({})
export class CliModule {
  static forRoot({ config, logger }: { config: ControllerConfig; logger: Logger }): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        CliMetricsModule,
        BackendsModule,
      ],
      providers: [SecretRenderer],
      exports: [SecretRenderer],
    };
  }
}
