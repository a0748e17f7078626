import { Injectable } from '@nestjs/common';
import type { Parameter } from '@aws-sdk/client-ssm';
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
import { ssmSdk } from './aws-sdk-modules.js';

const BACKEND = 'systemManager';
/** GetParameters takes at most 10 names per call. */
const BATCH_SIZE = 10;

/**
 * AWS SSM Parameter Store: names 10 at a time with GetParameters (the fetcher makes the chunks) (`name:version` selectors included), paths
 * with GetParametersByPath; SecureStrings are always decrypted; StringLists are returned as the stored text.
 */
@RegisterSecretBackend()
@Injectable()
export class ParameterStoreBackend implements SecretBackend<AwsIdentity> {
  readonly backendType = BACKEND;
  readonly batchSize = BATCH_SIZE;
  /** A path is read with GetParametersByPath, alone. */
  canBatch(request: RemoteRequest): boolean {
    return request.kind === 'key';
  }

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
    const names = requests.filter((request) => request.kind === 'key');
    const paths = requests.filter((request) => request.kind === 'path');
    await Promise.all([
      ...(names.length > 0 ? [this.getParameters(identity, names, results)] : []),
      ...paths.map((request) => this.getPath(identity, request, results)),
    ]);
    return results;
  }

  private async getParameters(
    identity: AwsIdentity,
    chunk: Array<RemoteRequest & { kind: 'key' }>,
    results: Map<string, RemoteValue | Error>,
  ): Promise<void> {
    let output;
    try {
      const { GetParametersCommand } = await ssmSdk();
      const client = await this.clients.ssm(identity);
      output = await client.send(
        new GetParametersCommand({ Names: chunk.map((request) => request.key), WithDecryption: true }),
      );
      this.metrics.recordBackendCall(BACKEND, 'GetParameters', 'success');
    } catch (error) {
      this.metrics.recordBackendCall(BACKEND, 'GetParameters', 'error');
      throw toBackendError(error, `GetParameters (${identity.description})`);
    }
    for (const request of chunk) {
      const found = pick(output.Parameters ?? [], request.key);
      results.set(
        requestKey(request),
        found ? { type: 'text', text: found.Value ?? '' } : new RemoteKeyNotFoundError(request.key),
      );
    }
  }

  private async getPath(
    identity: AwsIdentity,
    request: RemoteRequest & { kind: 'path' },
    results: Map<string, RemoteValue | Error>,
  ): Promise<void> {
    const entries: Array<[string, string]> = [];
    let nextToken: string | undefined;
    try {
      const { GetParametersByPathCommand } = await ssmSdk();
      const client = await this.clients.ssm(identity);
      do {
        const output = await client.send(
          new GetParametersByPathCommand({
            Path: request.path,
            Recursive: request.recursive,
            WithDecryption: true,
            NextToken: nextToken,
          }),
        );
        this.metrics.recordBackendCall(BACKEND, 'GetParametersByPath', 'success');
        for (const parameter of output.Parameters ?? []) {
          entries.push([
            parameter.Name!.split('/').filter(Boolean).pop() ?? parameter.Name!,
            parameter.Value ?? '',
          ]);
        }
        nextToken = output.NextToken;
      } while (nextToken);
      results.set(requestKey(request), { type: 'entries', entries });
    } catch (error) {
      this.metrics.recordBackendCall(BACKEND, 'GetParametersByPath', 'error');
      results.set(
        requestKey(request),
        toBackendError(error, `GetParametersByPath ${request.path} (${identity.description})`),
      );
    }
  }
}

/**
 * Finds a requested name among GetParameters' answers. A `name:3` or `name:label` request is answered with
 * the plain name and, from AWS, a Selector (emulators may leave the Selector out, so the version number is
 * checked too); a plain name gets the latest version when the same call also asked for an older one.
 */
function pick(parameters: readonly Parameter[], requested: string): Parameter | undefined {
  const separator = requested.lastIndexOf(':');
  const selector = separator > 0 ? requested.slice(separator + 1) : undefined;
  const name = selector === undefined ? requested : requested.slice(0, separator);
  const sameName = parameters.filter((parameter) => parameter.Name === name);
  if (selector === undefined) {
    return sameName
      .filter((parameter) => parameter.Selector === undefined)
      .reduce<Parameter | undefined>(
        (latest, each) => ((each.Version ?? 0) > (latest?.Version ?? -1) ? each : latest),
        undefined,
      );
  }
  return sameName.find(
    (parameter) => parameter.Selector === `:${selector}` || String(parameter.Version) === selector,
  );
}
