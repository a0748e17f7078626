import { loadOnce } from '../load-once.js';

/**
 * The AWS SDK clients, each loaded when the first ExternalSecret of its backend (or the first AssumeRole) needs
 * it: together they are several MiB of code and heap that a controller serving only Vault never uses.
 */
export const secretsManagerSdk = loadOnce(() => import('@aws-sdk/client-secrets-manager'));
export const ssmSdk = loadOnce(() => import('@aws-sdk/client-ssm'));
export const stsSdk = loadOnce(() => import('@aws-sdk/client-sts'));
