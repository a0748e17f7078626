import { Module } from '@nestjs/common';
import { SECRET_BACKENDS } from './backends.constants.js';

/** The secret backends, one injectable strategy per `backendType`, collected under one token. */
@Module({
  providers: [{ provide: SECRET_BACKENDS, useFactory: () => [] }],
  exports: [SECRET_BACKENDS],
})
export class BackendsModule {}
