import { createServer, type Server } from 'node:http';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { forwardRequest } from './http-forward.js';
import { PutParameterCommand, SSMClient, type ParameterType } from '@aws-sdk/client-ssm';

const endpoint = () => process.env.MOTO_ENDPOINT!;
// moto answers the odd 500 under concurrent writes (a thread-safety bug of its server): retry generously.
export const secretsManager = (region = process.env.AWS_REGION) =>
  new SecretsManagerClient({ endpoint: endpoint(), region, maxAttempts: 8 });
export const ssm = () =>
  new SSMClient({ endpoint: endpoint(), region: process.env.AWS_REGION, maxAttempts: 8 });

/** Creates a Secrets Manager secret, or puts a new current version if it exists. */
export async function putSecret(name: string, value: string | Uint8Array, region?: string): Promise<string> {
  const payload = typeof value === 'string' ? { SecretString: value } : { SecretBinary: value };
  try {
    const created = await secretsManager(region).send(new CreateSecretCommand({ Name: name, ...payload }));
    return created.VersionId!;
  } catch (error) {
    if ((error as Error).name !== 'ResourceExistsException') throw error;
    const put = await secretsManager(region).send(new PutSecretValueCommand({ SecretId: name, ...payload }));
    return put.VersionId!;
  }
}

export async function updateSecret(name: string, value: string): Promise<void> {
  await secretsManager().send(new UpdateSecretCommand({ SecretId: name, SecretString: value }));
}

export async function putParameter(
  name: string,
  value: string,
  type: ParameterType = 'SecureString',
): Promise<void> {
  await ssm().send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
}

/**
 * A small HTTP proxy in front of moto that counts backend calls by operation (X-Amz-Target for Secrets
 * Manager and SSM, Action for STS) and can fail them: `throttle` answers ThrottlingException, `unavailable`
 * HTTP 503 with an HTML body, `down` drops the connection. Calls are counted at the wire, not by the controller's own metrics.
 */
export class CountingAwsProxy {
  readonly calls = new Map<string, number>();
  /** Every call, whatever its operation. */
  totalCalls = 0;
  /** Every call with the access key that signed it and when it arrived. */
  readonly signedCalls: Array<{ operation: string; accessKeyId: string; at: number }> = [];
  /** Milliseconds moto took to answer, summed by operation (with `calls`: its mean latency under load). */
  readonly upstreamMs = new Map<string, number>();
  /** The temporary credentials STS handed out through this proxy: access key id → expiry (epoch ms). */
  readonly issuedCredentials = new Map<string, number>();
  mode: 'pass' | 'throttle' | 'unavailable' | 'down' = 'pass';
  private server: Server | undefined;

  async start(): Promise<string> {
    const target = new URL(endpoint());
    this.server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const amzTarget = incoming.headers['x-amz-target'];
        const operation =
          typeof amzTarget === 'string'
            ? (amzTarget.split('.').pop() ?? amzTarget)
            : (/Action=(\w+)/.exec(body.toString('utf8'))?.[1] ?? 'unknown');
        // SigV4: Credential=<access key id>/<date>/<region>/<service>/aws4_request
        const [, accessKeyId = '', region = 'unknown'] =
          /Credential=([^/]+)\/\d+\/([\w-]+)\//.exec(incoming.headers.authorization ?? '') ?? [];
        for (const counted of [operation, `${operation}@${region}`])
          this.calls.set(counted, (this.calls.get(counted) ?? 0) + 1);
        this.totalCalls++;
        this.signedCalls.push({ operation, accessKeyId, at: Date.now() });
        if (this.mode === 'down') {
          incoming.socket.destroy();
          return;
        }
        if (this.mode === 'unavailable') {
          // What a load balancer in front of the service answers: HTTP 503 with an HTML page.
          outgoing.writeHead(503, { 'Content-Type': 'text/html' });
          outgoing.end('<html><body>503 Service Unavailable</body></html>');
          return;
        }
        if (this.mode === 'throttle') {
          outgoing.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.1' });
          outgoing.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
          return;
        }
        const forwardedAt = Date.now();
        forwardRequest(target, incoming, outgoing, {
          body,
          onResponse: (response) => {
            if (operation === 'AssumeRole') this.recordIssuedCredentials(response);
            response.once('end', () =>
              this.upstreamMs.set(
                operation,
                (this.upstreamMs.get(operation) ?? 0) + Date.now() - forwardedAt,
              ),
            );
          },
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  private recordIssuedCredentials(response: NodeJS.ReadableStream): void {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      const xml = Buffer.concat(chunks).toString('utf8');
      const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
      const expiration = /<Expiration>([^<]+)<\/Expiration>/.exec(xml)?.[1];
      if (accessKeyId && expiration) this.issuedCredentials.set(accessKeyId, Date.parse(expiration));
    });
  }

  /** Calls of an operation, optionally in one region only (`count('GetSecretValue', 'eu-west-1')`). */
  count(operation: string, region?: string): number {
    if (region) return this.calls.get(`${operation}@${region}`) ?? 0;
    return this.calls.get(operation) ?? 0;
  }

  reset(): void {
    this.calls.clear();
    this.totalCalls = 0;
    this.signedCalls.length = 0;
    this.issuedCredentials.clear();
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
