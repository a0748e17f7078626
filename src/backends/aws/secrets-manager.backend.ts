import { Injectable } from '@nestjs/common';
import type { GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { ControllerMetrics } from '../../metrics/controller-metrics.service.js';
import type { NormalizedSpec } from '../../domain/normalize-spec.js';
import { toBackendError } from '../backend-errors.js';
import { RegisterSecretBackend } from '../register-secret-backend.decorator.js';
import { type SecretBackend } from '../secret-backend.js';
import {
  RemoteKeyNotFoundError,
  requestKey,
  type RemoteRequest,
  type RemoteValue,
} from '../../domain/remote-value.js';
import { AwsClients, type AwsIdentity } from './aws-clients.service.js';
import { secretsManagerSdk } from './aws-sdk-modules.js';

const BACKEND = 'secretsManager';
/** BatchGetSecretValue takes at most 20 ids per call. */
const BATCH_SIZE = 20;

/**
 * AWS Secrets Manager. Unpinned keys are read 20 at a time (the fetcher makes the chunks) with BatchGetSecretValue; pinned versions, and
 * every key of an identity whose role may not call BatchGetSecretValue, with GetSecretValue.
 */
@RegisterSecretBackend()
@Injectable()
export class SecretsManagerBackend implements SecretBackend<AwsIdentity> {
  readonly backendType = BACKEND;
  readonly batchSize = BATCH_SIZE;
  /** A pinned version needs GetSecretValue. */
  canBatch(request: RemoteRequest): boolean {
    return request.kind === 'key' && !request.version;
  }
  /** Identities refused BatchGetSecretValue; they use single reads from then on. */
  private readonly batchDenied = new Set<string>();

  constructor(
    private readonly clients: AwsClients,
    private readonly metrics: ControllerMetrics,
  ) {}

  identityFor(spec: NormalizedSpec): AwsIdentity {
    return this.clients.identityFor(BACKEND, spec);
  }

  async fetchMany(
    identity: AwsIdentity,
    requests: readonly RemoteRequest[],
  ): Promise<Map<string, RemoteValue | Error>> {
    const results = new Map<string, RemoteValue | Error>();
    const single: Array<RemoteRequest & { kind: 'key' }> = [];
    const batchable: Array<RemoteRequest & { kind: 'key' }> = [];
    for (const request of requests) {
      if (request.kind !== 'key') {
        results.set(requestKey(request), new Error('Secrets Manager has no paths; use data[].key'));
      } else if (request.version || this.batchDenied.has(identity.cacheKey)) {
        single.push(request);
      } else {
        batchable.push(request);
      }
    }
    if (batchable.length > 0) single.push(...(await this.batchGet(identity, batchable, results)));
    await Promise.all(single.map((request) => this.getOne(identity, request, results)));
    return results;
  }

  /** Reads one chunk; returns the requests that need a single read (batch denied, or ids it did not resolve). */
  private async batchGet(
    identity: AwsIdentity,
    chunk: Array<RemoteRequest & { kind: 'key' }>,
    results: Map<string, RemoteValue | Error>,
  ): Promise<Array<RemoteRequest & { kind: 'key' }>> {
    let output;
    try {
      const { BatchGetSecretValueCommand } = await secretsManagerSdk();
      const client = await this.clients.secretsManager(identity);
      output = await client.send(
        new BatchGetSecretValueCommand({ SecretIdList: chunk.map((request) => request.key) }),
      );
      this.metrics.recordBackendCall(BACKEND, 'BatchGetSecretValue', 'success');
    } catch (error) {
      this.metrics.recordBackendCall(BACKEND, 'BatchGetSecretValue', 'error');
      const name = (error as Error).name;
      if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException') {
        this.batchDenied.add(identity.cacheKey);
        return chunk;
      }
      throw toBackendError(error, `BatchGetSecretValue (${identity.description})`);
    }
    const leftOver: Array<RemoteRequest & { kind: 'key' }> = [];
    for (const request of chunk) {
      const id = request.key;
      const found = output.SecretValues?.find(
        (value) =>
          value.Name === id || value.ARN === id || (id.startsWith('arn:') && value.ARN?.startsWith(id)),
      );
      const failed = output.Errors?.find((error) => error.SecretId === id);
      if (found) {
        results.set(requestKey(request), valueOf(found));
      } else if (failed?.ErrorCode === 'ResourceNotFoundException') {
        results.set(requestKey(request), new RemoteKeyNotFoundError(id));
      } else {
        leftOver.push(request);
      }
    }
    return leftOver;
  }

  private async getOne(
    identity: AwsIdentity,
    request: RemoteRequest & { kind: 'key' },
    results: Map<string, RemoteValue | Error>,
  ): Promise<void> {
    const version = request.version;
    try {
      const { GetSecretValueCommand } = await secretsManagerSdk();
      const client = await this.clients.secretsManager(identity);
      const output = await client.send(
        new GetSecretValueCommand({
          SecretId: request.key,
          VersionId: version && 'id' in version ? version.id : undefined,
          VersionStage: version && 'stage' in version ? version.stage : undefined,
        }),
      );
      this.metrics.recordBackendCall(BACKEND, 'GetSecretValue', 'success');
      results.set(requestKey(request), valueOf(output));
    } catch (error) {
      this.metrics.recordBackendCall(BACKEND, 'GetSecretValue', 'error');
      results.set(
        requestKey(request),
        (error as Error).name === 'ResourceNotFoundException'
          ? new RemoteKeyNotFoundError(request.key, request.version)
          : toBackendError(error, `GetSecretValue of ${request.key} (${identity.description})`),
      );
    }
  }
}

function valueOf(output: Pick<GetSecretValueCommandOutput, 'SecretString' | 'SecretBinary'>): RemoteValue {
  if (output.SecretString !== undefined) return { type: 'text', text: output.SecretString };
  return { type: 'bytes', bytes: output.SecretBinary ?? new Uint8Array() };
}
