import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ControllerConfig } from './controller-config.js';

/** Makes the configuration validated at boot injectable everywhere as `ControllerConfig`. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: ControllerConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: ControllerConfig, useValue: config }],
      exports: [ControllerConfig],
    };
  }
}
