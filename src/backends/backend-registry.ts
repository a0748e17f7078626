import { Inject, Injectable } from '@nestjs/common';
import { SECRET_BACKENDS } from './backends.constants.js';
import type { SecretBackend } from './secret-backend.js';

/** Finds the strategy for a `backendType` among every registered backend (built-in and extensions). */
@Injectable()
export class BackendRegistry {
  private readonly byType: ReadonlyMap<string, SecretBackend>;

  constructor(@Inject(SECRET_BACKENDS) backends: SecretBackend[]) {
    this.byType = new Map(backends.map((backend) => [backend.backendType, backend]));
  }

  find(backendType: string): SecretBackend | undefined {
    return this.byType.get(backendType);
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }
}
