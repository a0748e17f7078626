import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { BackendsModule } from './backends/backends.module.js';
import { ConfigModule } from './config/config.module.js';
import type { ControllerConfig } from './config/controller-config.js';
import { HealthModule } from './health/health.module.js';
import { KubernetesModule } from './kubernetes/kubernetes.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { SyncModule } from './sync/sync.module.js';

export interface AppModuleOptions {
  readonly config: ControllerConfig;
  readonly logger: Logger;
  /** Extension modules (e.g. a team's own backend) loaded beside the built-in ones. */
  readonly extensions?: DynamicModule['imports'];
}

@Module({})
export class AppModule {
  static forRoot({ config, logger, extensions = [] }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        HealthModule,
        MetricsModule,
        KubernetesModule,
        BackendsModule,
        SyncModule,
        ...extensions,
      ],
    };
  }
}
