import { randomBytes } from 'node:crypto';
import { putSecret } from './aws.js';
import { createExternalSecret, createTestNamespace, kubeClients } from './kube.js';

type Clients = ReturnType<typeof kubeClients>;

/** `count` ExternalSecrets in a namespace of their own, each reading its own Secrets Manager key. */
export interface AwsWorkload {
  readonly namespace: string;
  readonly count: number;
  name(index: number): string;
  key(index: number): string;
  /** The Secret data each object should end up with. */
  expected(index: number): Record<string, string>;
  /** The managed Secrets that exist now, decoded, by object index. */
  secrets(): Promise<Map<number, Record<string, string>>>;
}

/**
 * Seeds the remote values and creates the ExternalSecrets. With `json`, each value is a JSON object of three
 * fields read with dataFrom (a Secret with several keys, to check that none is ever half-written).
 */
export async function createAwsWorkload(
  clients: Clients,
  prefix: string,
  count: number,
  { json = false }: { json?: boolean } = {},
): Promise<AwsWorkload> {
  const namespace = await createTestNamespace(prefix);
  const id = randomBytes(3).toString('hex');
  const key = (index: number) => `${prefix}-${id}-${index}`;
  const expected = (index: number): Record<string, string> =>
    json ? { a: `a-${index}`, b: `b-${index}`, c: `c-${index}` } : { v: `value-${index}` };
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      putSecret(key(index), json ? JSON.stringify(expected(index)) : expected(index).v!),
    ),
  );
  for (let index = 0; index < count; index++) {
    await createExternalSecret(clients, namespace, {
      metadata: { name: `${prefix}-${index}` },
      spec: json
        ? { backendType: 'secretsManager', dataFrom: [key(index)] }
        : { backendType: 'secretsManager', data: [{ key: key(index), name: 'v' }] },
    });
  }
  return {
    namespace,
    count,
    name: (index) => `${prefix}-${index}`,
    key,
    expected,
    secrets: async () => {
      const items = (await clients.core.listNamespacedSecret({ namespace })).items;
      return new Map(
        items.map((secret) => [
          Number(secret.metadata!.name!.split('-').pop()),
          Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([field, value]) => [
              field,
              Buffer.from(value, 'base64').toString(),
            ]),
          ),
        ]),
      );
    },
  };
}
