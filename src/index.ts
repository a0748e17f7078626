/**
 * The public API for extensions: implement `SecretBackend`, mark it `@RegisterSecretBackend()`, provide it in a
 * NestJS module, and load that module with `runController({ extensions })` or EXTENSION_MODULES.
 */
export { runController, type ExtensionModule, type RunControllerOptions } from './controller.js';
export { AppModule } from './app.module.js';
export { RegisterSecretBackend } from './backends/register-secret-backend.decorator.js';
export type { BackendIdentity, SecretBackend } from './backends/secret-backend.js';
export {
  RemoteKeyNotFoundError,
  requestKey,
  type RemoteRequest,
  type RemoteValue,
} from './domain/remote-value.js';
export { BackendError } from './backends/backend-errors.js';
export type { BackendFieldSchema, NormalizedSpec, RemoteVersion } from './domain/normalize-spec.js';
