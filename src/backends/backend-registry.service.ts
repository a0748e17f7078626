import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { RegisterSecretBackend } from './register-secret-backend.decorator.js';
import type { SecretBackend } from './secret-backend.js';

/**
 * Finds the strategy for a `backendType` among every provider marked `@RegisterSecretBackend()`, built-in or
 * from an extension module. Two backends claiming one type stop the controller at boot.
 */
@Injectable()
export class BackendRegistry implements OnModuleInit {
  private readonly byType = new Map<string, SecretBackend>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: RegisterSecretBackend.KEY })) {
      const backend = wrapper.instance as SecretBackend | undefined;
      if (!backend) continue;
      const claimed = this.byType.get(backend.backendType);
      if (claimed && claimed !== backend) {
        throw new Error(
          `two secret backends claim backendType ${backend.backendType}: ${claimed.constructor.name} and ${backend.constructor.name}`,
        );
      }
      this.byType.set(backend.backendType, backend);
    }
  }

  find(backendType: string): SecretBackend | undefined {
    return this.byType.get(backendType);
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }
}
