import { Injectable } from '@nestjs/common';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { ControllerConfig } from '../../config/controller-config.js';
import { ControllerMetrics } from '../../metrics/controller-metrics.js';
import type { NormalizedSpec } from '../../sync/normalize-spec.js';
import type { BackendIdentity } from '../secret-backend.js';

/** An AWS reading identity: region and the role assumed (none: the controller's own credentials). */
export interface AwsIdentity extends BackendIdentity {
  readonly region: string;
  readonly roleArn?: string;
}

/**
 * Refresh assumed-role credentials this long before they expire (at most), so that no call made during a
 * refresh cycle signs with credentials that expire under it; a quarter of the lifetime when that is shorter.
 */
const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;
const CREDENTIAL_REFRESH_MARGIN_SHARE = 0.25;
const ROLE_SESSION_NAME = 'kubernetes-external-secrets';

/**
 * AWS clients and credentials, built once per (service, region, role) and reused: STS AssumeRole runs once
 * per role per credential lifetime, shared by Secrets Manager and SSM clients, not once per key as in KES.
 */
@Injectable()
export class AwsClients {
  private readonly clients = new Map<string, SecretsManagerClient | SSMClient>();
  private readonly roleCredentials = new Map<string, AwsCredentialIdentityProvider>();

  constructor(
    private readonly config: ControllerConfig,
    private readonly metrics: ControllerMetrics,
  ) {}

  identityFor(backendType: string, spec: NormalizedSpec): AwsIdentity {
    const region = spec.region ?? this.config.aws.region;
    const roleArn = spec.roleArn;
    return {
      region,
      roleArn,
      cacheKey: `${backendType}|${region}|${roleArn ?? ''}`,
      description: `${backendType} in ${region}${roleArn ? ` as ${roleArn}` : ''}`,
    };
  }

  secretsManager(identity: AwsIdentity): SecretsManagerClient {
    return this.client(`sm|${identity.region}|${identity.roleArn ?? ''}`, () => {
      return new SecretsManagerClient(this.clientOptions(identity, this.config.aws.secretsManagerEndpoint));
    }) as SecretsManagerClient;
  }

  ssm(identity: AwsIdentity): SSMClient {
    return this.client(`ssm|${identity.region}|${identity.roleArn ?? ''}`, () => {
      return new SSMClient(this.clientOptions(identity, this.config.aws.ssmEndpoint));
    }) as SSMClient;
  }

  private client(
    key: string,
    build: () => SecretsManagerClient | SSMClient,
  ): SecretsManagerClient | SSMClient {
    let client = this.clients.get(key);
    if (!client) {
      client = build();
      this.clients.set(key, client);
    }
    return client;
  }

  private clientOptions(identity: AwsIdentity, endpoint: string | undefined) {
    return {
      region: identity.region,
      endpoint,
      credentials: identity.roleArn ? this.credentialsFor(identity.roleArn, identity.region) : undefined,
      // A few quick retries inside the SDK (throttling backs off with jitter); longer outages are retried by
      // the work queue's backoff, so one throttled call never holds a worker for long.
      maxAttempts: 3,
      retryMode: 'standard',
    };
  }

  /** Assumed-role credentials, optionally through AWS_INTERMEDIATE_ROLE_ARN, cached until near expiry. */
  private credentialsFor(roleArn: string, region: string): AwsCredentialIdentityProvider {
    const key = `${region}|${roleArn}`;
    let provider = this.roleCredentials.get(key);
    if (!provider) {
      const stsOptions = { region, endpoint: this.config.aws.stsEndpoint };
      const sessionSeconds = this.config.aws.assumeRoleDurationSeconds;
      const intermediate = this.config.aws.intermediateRoleArn;
      const masterCredentials = intermediate
        ? this.memoized(
            fromTemporaryCredentials({
              params: {
                RoleArn: intermediate,
                RoleSessionName: ROLE_SESSION_NAME,
                DurationSeconds: sessionSeconds,
              },
              clientConfig: stsOptions,
            }),
          )
        : undefined;
      provider = this.memoized(
        fromTemporaryCredentials({
          params: { RoleArn: roleArn, RoleSessionName: ROLE_SESSION_NAME, DurationSeconds: sessionSeconds },
          masterCredentials,
          clientConfig: stsOptions,
        }),
      );
      this.roleCredentials.set(key, provider);
    }
    return provider;
  }

  /** Credentials from `source`, kept until their refresh time; one STS call at a time. */
  private memoized(source: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
    let current: AwsCredentialIdentity | undefined;
    let refreshAt = 0;
    let pending: Promise<AwsCredentialIdentity> | undefined;
    return () => {
      if (current && Date.now() < refreshAt) return Promise.resolve(current);
      pending ??= source()
        .then(
          (credentials) => {
            this.metrics.recordBackendCall('sts', 'AssumeRole', 'success');
            current = credentials;
            refreshAt = refreshTime(credentials.expiration, Date.now());
            return credentials;
          },
          (error: unknown) => {
            this.metrics.recordBackendCall('sts', 'AssumeRole', 'error');
            throw error;
          },
        )
        .finally(() => (pending = undefined));
      return pending;
    };
  }
}

/** When credentials obtained at `obtainedAt` should be replaced: before expiry, by the margin above. */
export function refreshTime(expiration: Date | undefined, obtainedAt: number): number {
  if (!expiration) return Infinity;
  const lifetime = expiration.getTime() - obtainedAt;
  return (
    expiration.getTime() - Math.min(CREDENTIAL_REFRESH_MARGIN_MS, lifetime * CREDENTIAL_REFRESH_MARGIN_SHARE)
  );
}
