/**
 * The benchmark's workload: which ExternalSecrets there are and which remote keys they read, the remote values
 * behind them (seeded, then changed), and the objects themselves in the API server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { putParameter, putSecret, updateSecret } from '../test/support/aws.js';
import { createExternalSecret, type kubeClients } from '../test/support/kube.js';
import { writeKv2 } from '../test/support/vault.js';

export type Backend = 'secretsManager' | 'systemManager' | 'vault';
export type Clients = ReturnType<typeof kubeClients>;

const ROLE_ARN = 'arn:aws:iam::123456789012:role/bench';

/** What the CLI options say the workload looks like. */
export interface WorkloadShape {
  /** The weight of each backend among the objects. */
  mix: Record<Backend, number>;
  keysPerObject: number;
  /** The fraction of keys read from the common pool of each backend. */
  share: number;
  poolSize: number;
  /** spec.refreshInterval groups and their weights (`--intervals 10s=0.5,1h=0.5`); empty: none set. */
  intervals: ReadonlyArray<{ readonly text: string; readonly ms: number; readonly weight: number }>;
}

export interface ObjectPlan {
  name: string;
  backend: Backend;
  /** Remote keys; the key in slot N lands in the Secret's data as `kN`. */
  keys: string[];
  /** spec.refreshInterval (text, and in ms), when the workload sets one. */
  refreshInterval?: { readonly text: string; readonly ms: number };
}

/** Runs `work` over the items with at most `concurrency` at a time. */
export async function inBatches<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/** The remote key of a pool or unique value, per backend's naming. */
export function remoteKey(backend: Backend, run: string, id: string): string {
  if (backend === 'systemManager') return `/bench/${run}/${id}`;
  if (backend === 'vault') return `secret/data/bench/${run}/${id}`;
  return `bench/${run}/${id}`;
}

export async function seed(backend: Backend, key: string, value: string): Promise<void> {
  if (backend === 'secretsManager') await putSecret(key, value);
  else if (backend === 'systemManager') await putParameter(key, value);
  else await writeKv2(key.replace(/^secret\/data\//, ''), { value });
}

export async function change(backend: Backend, key: string, value: string): Promise<void> {
  if (backend === 'secretsManager') await updateSecret(key, value);
  else await seed(backend, key, value);
}

/**
 * Plans objects: each reads `keysPerObject` keys, a share of them from a common pool per backend; the
 * backends are spread by the mix. Unique keys are numbered across all the plans of one run.
 */
export function objectPlanner(
  run: string,
  { mix, keysPerObject, share, poolSize, intervals }: WorkloadShape,
): (howMany: number, prefix: string) => ObjectPlan[] {
  const backends = (Object.keys(mix) as Backend[]).filter((backend) => mix[backend] > 0);
  const weights = backends.map((backend) => mix[backend]);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let unique = 0;
  return (howMany, prefix) => {
    const plans: ObjectPlan[] = [];
    for (let index = 0; index < howMany; index++) {
      let pick = ((index + 0.5) / howMany) * total;
      let backend = backends[0]!;
      for (const [position, candidate] of backends.entries()) {
        if (pick < weights[position]!) {
          backend = candidate;
          break;
        }
        pick -= weights[position]!;
      }
      // Slot 0 is the last to be shared, so that every object keeps a key of its own while share < 1 (the
      // propagation sample changes those); the shared slots spread evenly over the pool.
      const keys = Array.from({ length: keysPerObject }, (_, slot) => {
        const item = index * keysPerObject + slot;
        const shared = slot === 0 ? share >= 1 : ((item * 7919) % 1000) / 1000 < share;
        return shared
          ? remoteKey(backend, run, `pool-${item % poolSize}`)
          : remoteKey(backend, run, `unique-${unique++}`);
      });
      plans.push({
        name: `${prefix}-${index}`,
        backend,
        keys,
        refreshInterval: intervalGroup(intervals, index),
      });
    }
    return plans;
  };
}

/**
 * The interval group of object `index`: spread by the golden ratio, so every group has objects of every backend
 * and reads shared pool keys too (a long-interval object often shares a key with a short-interval one).
 */
function intervalGroup(intervals: WorkloadShape['intervals'], index: number) {
  if (intervals.length === 0) return undefined;
  const total = intervals.reduce((sum, group) => sum + group.weight, 0);
  let pick = ((index * 0.6180339887) % 1) * total;
  for (const group of intervals) {
    if (pick < group.weight) return { text: group.text, ms: group.ms };
    pick -= group.weight;
  }
  return { text: intervals.at(-1)!.text, ms: intervals.at(-1)!.ms };
}

/** A key no other object reads (changing it touches one object only), if the plan has one. */
export function ownKey(plan: ObjectPlan): string | undefined {
  return plan.keys.find((key) => key.includes('unique'));
}

/** The distinct remote keys of the plans, by backend: what is seeded, and what the call floor is made of. */
export function distinctKeys(plans: ObjectPlan[]): Map<Backend, Set<string>> {
  const distinct = new Map<Backend, Set<string>>();
  for (const plan of plans)
    for (const key of plan.keys)
      distinct.set(plan.backend, (distinct.get(plan.backend) ?? new Set()).add(key));
  return distinct;
}

/** Writes the first value (`v0`) of every distinct key. */
/**
 * Requests in flight per backend while seeding. moto's server is one Python process (the GIL), so more gain
 * little there, and its Secrets Manager store is not safe for concurrent creates: at tens of thousands of
 * secrets each create scans the store, overlapping ones collide and moto answers 500 (a 50,000-object seed
 * failed so after 8 attempts); one at a time it never does. OpenBao takes more.
 */
const SEED_CONCURRENCY: Record<Backend, number> = { secretsManager: 1, systemManager: 2, vault: 4 };

export async function seedRemoteValues(distinct: Map<Backend, Set<string>>): Promise<void> {
  const seedStarted = Date.now();
  // Each backend in its own lanes, side by side: OpenBao is seeded while moto is.
  await Promise.all(
    [...distinct].map(([backend, keys]) =>
      inBatches([...keys], SEED_CONCURRENCY[backend], (key) => seed(backend, key, 'v0')),
    ),
  );
  const seeded = [...distinct.values()].reduce((sum, keys) => sum + keys.size, 0);
  console.error(
    `[bench] seeded ${seeded} remote values in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
  );
}

/** The ExternalSecret of a plan (what is created; also what the reads floor plans its reads from). */
export function externalSecretOf(plan: ObjectPlan, namespace: string) {
  return {
    apiVersion: 'kubernetes-client.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: plan.name, namespace },
    spec: {
      backendType: plan.backend,
      ...(plan.backend === 'secretsManager' ? { roleArn: ROLE_ARN } : {}),
      ...(plan.refreshInterval ? { refreshInterval: plan.refreshInterval.text } : {}),
      data: plan.keys.map((key, slot) => ({
        key,
        name: `k${slot}`,
        ...(plan.backend === 'vault' ? { property: 'value' } : {}),
      })),
    },
  };
}

export async function createObjects(clients: Clients, plans: ObjectPlan[], namespace: string): Promise<void> {
  await inBatches(plans, 20, (plan) =>
    createExternalSecret(clients, namespace, externalSecretOf(plan, namespace)),
  );
}

/**
 * The Secrets in the benchmark's namespace (only the controller makes Secrets there), from a one-item page and
 * its remainingItemCount: a full list at 50,000 objects, four times a second, would load the API server more
 * than the controller does.
 */
async function secretCount(clients: Clients, namespace: string): Promise<number> {
  const page = await clients.core.listNamespacedSecret({ namespace, limit: 1 });
  return page.items.length + (page.metadata?.remainingItemCount ?? 0);
}

/** Waits until `expected` Secrets exist; the deadline allows the write budget's time for three writes each. */
export async function waitForSecrets(
  clients: Clients,
  namespace: string,
  expected: number,
  since: number,
): Promise<void> {
  const deadlineMs = 20 * 60_000 + expected * 60;
  while ((await secretCount(clients, namespace)) < expected) {
    if (Date.now() - since > deadlineMs)
      throw new Error(`${expected} Secrets did not appear in ${Math.round(deadlineMs / 60_000)} minutes`);
    await sleep(expected > 2000 ? 2000 : 250);
  }
}

/** Whether the object's Secret holds `value` for the key in `slot` (a read error is not a no: it throws). */
export async function secretHolds(
  clients: Clients,
  namespace: string,
  plan: ObjectPlan,
  slot: number,
  value: string,
): Promise<boolean> {
  const secret = await clients.core.readNamespacedSecret({ name: plan.name, namespace });
  return Buffer.from(secret.data?.[`k${slot}`] ?? '', 'base64').toString() === value;
}
