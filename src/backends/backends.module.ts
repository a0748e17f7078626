import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AwsClients } from './aws/aws-clients.service.js';
import { ParameterStoreBackend } from './aws/parameter-store.backend.js';
import { SecretsManagerBackend } from './aws/secrets-manager.backend.js';
import { BackendRegistry } from './backend-registry.service.js';
import { OutboundHttp } from './outbound-agents.service.js';
import { ValueFetcher } from './value-fetcher.service.js';
import { VaultBackend } from './vault/vault.backend.js';

/**
 * The secret backends: one injectable strategy per `backendType`, each marked `@RegisterSecretBackend()` and
 * found by the registry (so extension modules add backends the same way).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    OutboundHttp,
    AwsClients,
    SecretsManagerBackend,
    ParameterStoreBackend,
    VaultBackend,
    BackendRegistry,
    ValueFetcher,
  ],
  exports: [BackendRegistry, ValueFetcher],
})
export class BackendsModule {}
