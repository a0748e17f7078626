import { DiscoveryService } from '@nestjs/core';

/**
 * Marks an injectable class as a secret backend strategy (see `SecretBackend`). Every provider carrying it, in
 * this project's modules or in an extension module loaded beside them, serves its `backendType`.
 *
 * ```ts
 * @RegisterSecretBackend()
 * @Injectable()
 * export class AkeylessBackend implements SecretBackend { readonly backendType = 'akeyless'; … }
 * ```
 */
export const RegisterSecretBackend = DiscoveryService.createDecorator<void>();
