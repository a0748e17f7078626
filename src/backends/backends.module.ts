import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AwsClients } from './aws/aws-clients.js';
import { ParameterStoreBackend } from './aws/parameter-store.backend.js';
import { SecretsManagerBackend } from './aws/secrets-manager.backend.js';
import { BackendRegistry } from './backend-registry.js';
import { SECRET_BACKENDS } from './backends.constants.js';
import type { SecretBackend } from './secret-backend.js';
import { ValueFetcher } from './value-fetcher.service.js';

/** The secret backends, one injectable strategy per `backendType`, collected under `SECRET_BACKENDS`. */
@Module({
  imports: [MetricsModule],
  providers: [
    AwsClients,
    SecretsManagerBackend,
    ParameterStoreBackend,
    {
      provide: SECRET_BACKENDS,
      useFactory: (...backends: SecretBackend[]) => backends,
      inject: [SecretsManagerBackend, ParameterStoreBackend],
    },
    BackendRegistry,
    ValueFetcher,
  ],
  exports: [BackendRegistry, ValueFetcher],
})
export class BackendsModule {}
