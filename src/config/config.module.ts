import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CONTROLLER_CONFIG } from './config.constants.js';
import type { ControllerConfig } from './controller-config.js';

/** Makes the configuration validated at boot injectable everywhere as CONTROLLER_CONFIG. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: ControllerConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: CONTROLLER_CONFIG, useValue: config }],
      exports: [CONTROLLER_CONFIG],
    };
  }
}
