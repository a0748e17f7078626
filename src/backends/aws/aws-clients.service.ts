import { Inject, Injectable } from '@nestjs/common';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { CONTROLLER_CONFIG } from '../../config/config.constants.js';
import type { ControllerConfig } from '../../config/controller-config.js';
import { ControllerMetrics } from '../../metrics/controller-metrics.service.js';
import type { NormalizedSpec } from '../../domain/normalize-spec.js';
import { OutboundHttp } from '../outbound-agents.service.js';
import { secretsManagerSdk, ssmSdk, stsSdk } from './aws-sdk-modules.js';
import type { BackendIdentity } from '../secret-backend.js';
import { CONTROLLER_NAME } from '../../domain/controller-name.js';

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
const ROLE_SESSION_NAME = CONTROLLER_NAME;

/**
 * AWS clients and credentials, built once per (service, region, role) and reused: STS AssumeRole runs once
 * per role per credential lifetime, shared by Secrets Manager and SSM clients, not once per key as in KES.
 */
@Injectable()
export class AwsClients {
  private readonly clients = new Map<string, Promise<SecretsManagerClient | SSMClient>>();
  private readonly roleCredentials = new Map<string, AwsCredentialIdentityProvider>();

  constructor(
    @Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig,
    private readonly metrics: ControllerMetrics,
    private readonly outbound: OutboundHttp,
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

  /** The identity's Secrets Manager client (the SDK loads with the first one). */
  secretsManager(identity: AwsIdentity): Promise<SecretsManagerClient> {
    return this.client(`sm|${identity.region}|${identity.roleArn ?? ''}`, async () => {
      const sdk = await secretsManagerSdk();
      return new sdk.SecretsManagerClient(
        this.clientOptions(identity, this.config.aws.secretsManagerEndpoint),
      );
    }) as Promise<SecretsManagerClient>;
  }

  /** The identity's SSM client (the SDK loads with the first one). */
  ssm(identity: AwsIdentity): Promise<SSMClient> {
    return this.client(`ssm|${identity.region}|${identity.roleArn ?? ''}`, async () => {
      const sdk = await ssmSdk();
      return new sdk.SSMClient(this.clientOptions(identity, this.config.aws.ssmEndpoint));
    }) as Promise<SSMClient>;
  }

  private client(
    key: string,
    build: () => Promise<SecretsManagerClient | SSMClient>,
  ): Promise<SecretsManagerClient | SSMClient> {
    let client = this.clients.get(key);
    if (!client) {
      client = build();
      this.clients.set(key, client);
      // A client whose SDK failed to load is not kept: the next read tries again.
      client.catch(() => this.clients.delete(key));
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
      requestHandler: this.requestHandler(),
    };
  }

  /** The SDK's Node.js handler, on the shared agents (so through the forward proxy when one is set). */
  private requestHandler() {
    return { httpAgent: this.outbound.http, httpsAgent: this.outbound.https };
  }

  /** Assumed-role credentials, optionally through AWS_INTERMEDIATE_ROLE_ARN, cached until near expiry. */
  private credentialsFor(roleArn: string, region: string): AwsCredentialIdentityProvider {
    const key = `${region}|${roleArn}`;
    let provider = this.roleCredentials.get(key);
    if (!provider) {
      const intermediate = this.config.aws.intermediateRoleArn;
      const masterCredentials = intermediate
        ? this.memoized(this.assumeRole(region, undefined, intermediate))
        : undefined;
      provider = this.memoized(this.assumeRole(region, masterCredentials, roleArn));
      this.roleCredentials.set(key, provider);
    }
    return provider;
  }

  /**
   * One AssumeRole call per invocation, signed with `credentials` (the default chain if none), through an STS
   * client in `region` built on first use. AWS_STS_ENDPOINT (or LOCALSTACK_STS_URL, or the SDK's
   * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL) wins; otherwise AWS_STS_ENDPOINT_TYPE picks
   * sts.<region>.amazonaws.com (`regional`, KES's default) or the global sts.amazonaws.com (`legacy`, for the
   * regions that had it; the SDK signs those calls for us-east-1).
   */
  private assumeRole(
    region: string,
    credentials: AwsCredentialIdentityProvider | undefined,
    roleArn: string,
  ): AwsCredentialIdentityProvider {
    let sts: STSClient | undefined;
    return async () => {
      const sdk = await stsSdk();
      sts ??= new sdk.STSClient(
        stsClientOptions(this.config.aws, region, credentials, this.requestHandler()),
      );
      const { Credentials: assumed } = await sts.send(
        new sdk.AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: ROLE_SESSION_NAME,
          DurationSeconds: this.config.aws.assumeRoleDurationSeconds,
        }),
      );
      if (!assumed?.AccessKeyId || !assumed.SecretAccessKey) {
        throw new Error(`STS AssumeRole of ${roleArn} returned no credentials`);
      }
      return {
        accessKeyId: assumed.AccessKeyId,
        secretAccessKey: assumed.SecretAccessKey,
        sessionToken: assumed.SessionToken,
        expiration: assumed.Expiration,
      };
    };
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

/**
 * The STS client's options: an explicit endpoint wins over AWS_STS_ENDPOINT_TYPE (pure, table-tested). The
 * SDK's AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL count as explicit: with the global-endpoint flag on, the SDK
 * would send to that URL but sign for us-east-1, which a regional endpoint (e.g. a VPC endpoint) refuses.
 */
export function stsClientOptions<Handler>(
  aws: Pick<ControllerConfig['aws'], 'stsEndpointType'> & {
    readonly stsEndpoint?: string;
    readonly sdkStsEndpoint?: string;
  },
  region: string,
  credentials: AwsCredentialIdentityProvider | undefined,
  requestHandler: Handler,
) {
  const endpoint = aws.stsEndpoint ?? aws.sdkStsEndpoint;
  return {
    region,
    credentials,
    requestHandler,
    maxAttempts: 3,
    retryMode: 'standard',
    ...(endpoint ? { endpoint } : { useGlobalEndpoint: aws.stsEndpointType === 'legacy' }),
  };
}
