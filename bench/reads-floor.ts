/**
 * The CPU floor of an idle cycle (`--reads-floor`): the cycle's reads alone, by the controller's own backends
 * and clients (credentials, batching, Vault session, HTTP agents) with nothing around them: no informers, no
 * queue, no shared fetcher, no Secret building. Run as a child process with the image's Node.js flags:
 *
 *   node <flags> .bench-build/bench/reads-floor.js <input.json>
 *
 * The input names the ExternalSecrets and how many cycles to read; one line of JSON goes to stdout with the CPU
 * per cycle (process.cpuUsage, user + system) and the calls made per cycle.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { BackendRegistry } from '../src/backends/backend-registry.service.js';
// The fetcher's split into calls and its parallelism per identity, so the floor's calls are the controller's.
import { CALLS_IN_PARALLEL, planCalls } from '../src/backends/value-fetcher.service.js';
import type { BackendIdentity, SecretBackend } from '../src/backends/secret-backend.js';
import { CliModule } from '../src/cli/cli.module.js';
import { CONTROLLER_CONFIG } from '../src/config/config.constants.js';
import { loadConfig, type ControllerConfig } from '../src/config/controller-config.js';
import { requestKey, type RemoteRequest } from '../src/domain/remote-value.js';
import type { ExternalSecret } from '../src/domain/external-secret.js';
import { normalizeSpec } from '../src/domain/normalize-spec.js';
import { planFetch } from '../src/sync/fetch-plan.js';
import { monotonicUs, type MonotonicWindow } from './profile.js';

export interface ReadsFloorInput {
  readonly externalSecrets: ExternalSecret[];
  readonly cycles: number;
}

export interface ReadsFloorResult {
  readonly cpuSecondsPerCycle: number;
  readonly callsPerCycle: number;
  /** The measured cycles on the monotonic clock, in µs (for a CPU profile of them). */
  readonly windowUs: MonotonicWindow;
}

interface IdentityReads {
  readonly backend: SecretBackend;
  readonly identity: BackendIdentity;
  readonly calls: RemoteRequest[][];
}

/** The distinct requests of every object, per identity, split into calls exactly as the fetcher splits them. */
function cycleReads(
  externalSecrets: readonly ExternalSecret[],
  backends: BackendRegistry,
  config: ControllerConfig,
): IdentityReads[] {
  const byIdentity = new Map<
    string,
    { backend: SecretBackend; identity: BackendIdentity; requests: Map<string, RemoteRequest> }
  >();
  for (const externalSecret of externalSecrets) {
    const plan = planFetch(externalSecret, normalizeSpec(externalSecret), {
      backends,
      config,
      namespaceAnnotations: undefined,
    });
    const group = byIdentity.get(plan.identity.cacheKey) ?? {
      backend: plan.backend,
      identity: plan.identity,
      requests: new Map(),
    };
    for (const request of plan.requests) group.requests.set(requestKey(request), request);
    byIdentity.set(plan.identity.cacheKey, group);
  }
  return [...byIdentity.values()].map(({ backend, identity, requests }) => ({
    backend,
    identity,
    calls: planCalls(backend, [...requests.values()]),
  }));
}

async function readAll(reads: readonly IdentityReads[]): Promise<void> {
  await Promise.all(
    reads.map(async ({ backend, identity, calls }) => {
      const queue = [...calls];
      const worker = async () => {
        for (let call = queue.shift(); call; call = queue.shift()) {
          const values = await backend.fetchMany(identity, call);
          for (const value of values.values()) if (value instanceof Error) throw value;
        }
      };
      await Promise.all(Array.from({ length: Math.min(CALLS_IN_PARALLEL, queue.length) }, worker));
    }),
  );
}

async function main(): Promise<void> {
  const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ReadsFloorInput;
  const config = loadConfig(process.env);
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const app = await NestFactory.createApplicationContext(CliModule.forRoot({ config, logger }), {
    logger: false,
  });
  try {
    const reads = cycleReads(input.externalSecrets, app.get(BackendRegistry), app.get(CONTROLLER_CONFIG));
    // The first cycle logs in, assumes the role and opens the connections, as the controller did long before
    // its idle cycles: not measured.
    await readAll(reads);
    const fromUs = monotonicUs();
    const before = process.cpuUsage();
    for (let cycle = 0; cycle < input.cycles; cycle++) await readAll(reads);
    const used = process.cpuUsage(before);
    const toUs = monotonicUs();
    const result: ReadsFloorResult = {
      cpuSecondsPerCycle: (used.user + used.system) / 1e6 / input.cycles,
      callsPerCycle: reads.reduce((sum, { calls }) => sum + calls.length, 0),
      windowUs: { fromUs, toUs },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await app.close();
  }
}

await main();
