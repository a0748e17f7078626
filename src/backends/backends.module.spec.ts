import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { pino } from 'pino';
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigModule } from '../config/config.module.js';
import { loadConfig } from '../config/controller-config.js';
import { LoggingModule } from '../logging/logging.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { BackendRegistry } from './backend-registry.service.js';
import { BackendsModule } from './backends.module.js';
import { RegisterSecretBackend } from './register-secret-backend.decorator.js';
import type { SecretBackend } from './secret-backend.js';

@RegisterSecretBackend()
@Injectable()
class TeamBackend implements Pick<SecretBackend, 'backendType' | 'batchSize'> {
  readonly backendType = 'team';
  readonly batchSize = 1;
}

@Module({ providers: [TeamBackend] })
class TeamBackendModule {}

@RegisterSecretBackend()
@Injectable()
class ClashingBackend {
  readonly backendType = 'vault';
}

@Module({ providers: [ClashingBackend] })
class ClashingModule {}

/** The module wiring, with Nest's testing module: what an extension module's backend adds to the registry. */
async function registryWith(...extensions: Array<new () => unknown>) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(loadConfig({ AWS_EC2_METADATA_DISABLED: 'true' })),
      LoggingModule.forRoot(pino({ level: 'silent' })),
      MetricsModule,
      BackendsModule,
      ...extensions,
    ],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(BackendRegistry);
}

describe('BackendsModule wiring', () => {
  // Each testing module registers the controller's metrics in prom-client's global registry.
  afterEach(() => register.clear());

  it('registers the built-in backends and one from an extension module', async () => {
    const registry = await registryWith(TeamBackendModule);
    expect(registry.types).toEqual(
      expect.arrayContaining(['secretsManager', 'systemManager', 'vault', 'team']),
    );
    expect(registry.find('team')).toBeInstanceOf(TeamBackend);
  });

  it('refuses two backends that claim one backendType', async () => {
    await expect(registryWith(ClashingModule)).rejects.toThrow('two secret backends claim backendType vault');
  });
});
