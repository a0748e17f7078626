import { register } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { ControllerMetrics } from './controller-metrics.service.js';

/** The value of one series in the default registry's exposition, or undefined when the series is absent. */
async function seriesValue(name: string, labels: string): Promise<number | undefined> {
  const line = (await register.metrics()).split('\n').find((text) => text.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

const OBJECT = 'name="db",namespace="team-a",backend="vault"';

describe('ControllerMetrics.recordSync', () => {
  let metrics: ControllerMetrics;
  beforeEach(() => {
    register.clear();
    metrics = new ControllerMetrics();
  });

  // The state gauges are set only when the state changes: each row is the outcome sequence and the state after it.
  it.each([
    { outcomes: ['success'], state: 1 },
    { outcomes: ['success', 'success', 'success'], state: 1 },
    { outcomes: ['success', 'error'], state: -1 },
    { outcomes: ['error', 'error', 'success'], state: 1 },
    { outcomes: ['success', 'error', 'success', 'error'], state: -1 },
  ] as const)('$outcomes leaves the state $state (KES and README names)', async ({ outcomes, state }) => {
    for (const outcome of outcomes) metrics.recordSync('db', 'team-a', 'vault', outcome, 0.01);
    expect(await seriesValue('kubernetes_external_secrets_last_sync_call_state', OBJECT)).toBe(state);
    expect(await seriesValue('last_state', OBJECT)).toBe(state);
    const successes = outcomes.filter((outcome) => outcome === 'success').length;
    expect(
      await seriesValue('kubernetes_external_secrets_sync_calls_count', `${OBJECT},status="success"`),
    ).toBe(successes);
    expect(await seriesValue('sync_calls', `${OBJECT},status="success"`)).toBe(successes);
  });

  it('updates the last-success time on every successful sync, also when the state is unchanged', async () => {
    metrics.recordSync('db', 'team-a', 'vault', 'success', 0.01);
    const first = await seriesValue('kubernetes_external_secrets_last_success_timestamp_seconds', OBJECT);
    await new Promise((resolve) => setTimeout(resolve, 20));
    metrics.recordSync('db', 'team-a', 'vault', 'success', 0.01);
    const second = await seriesValue('kubernetes_external_secrets_last_success_timestamp_seconds', OBJECT);
    expect(second).toBeGreaterThan(first!);
  });

  it('removes every series of a deleted object, and records it again from scratch if it comes back', async () => {
    metrics.recordSync('db', 'team-a', 'vault', 'success', 0.01);
    metrics.forgetExternalSecret('db', 'team-a');
    expect(await seriesValue('kubernetes_external_secrets_last_sync_call_state', OBJECT)).toBeUndefined();
    expect(await seriesValue('last_state', OBJECT)).toBeUndefined();
    expect(
      await seriesValue('kubernetes_external_secrets_sync_calls_count', `${OBJECT},status="success"`),
    ).toBeUndefined();
    // Recreated with the same name: its state series come back even though the state is the same as before.
    metrics.recordSync('db', 'team-a', 'vault', 'success', 0.01);
    expect(await seriesValue('kubernetes_external_secrets_last_sync_call_state', OBJECT)).toBe(1);
  });

  it('keeps the KES types and help, and a series per backend and outcome only once it happened', async () => {
    metrics.recordSync('db', 'team-a', 'vault', 'success', 0.01);
    metrics.recordSync('db', 'team-a', 'secretsManager', 'error', 0.01);
    const exposition = await register.metrics();
    expect(exposition).toContain('# TYPE kubernetes_external_secrets_sync_calls_count counter');
    expect(exposition).toContain('# TYPE sync_calls counter');
    expect(exposition).toContain('# TYPE last_state gauge');
    expect(exposition).toContain('# HELP last_state Outcome of the last sync: 1 success, -1 error');
    expect(await seriesValue('sync_calls', `${OBJECT},status="error"`)).toBeUndefined();
    const other = 'name="db",namespace="team-a",backend="secretsManager"';
    expect(await seriesValue('sync_calls', `${other},status="error"`)).toBe(1);
    expect(await seriesValue('sync_calls', `${other},status="success"`)).toBeUndefined();
    expect(await seriesValue('last_state', other)).toBe(-1);
    expect(await seriesValue('last_state', OBJECT)).toBe(1);
    // An object that never synced successfully has no last-success time.
    expect(
      await seriesValue('kubernetes_external_secrets_last_success_timestamp_seconds', other),
    ).toBeUndefined();
    // The JSON form carries the labels too (prom-client's getMetricsAsJSON).
    const json = await register.getMetricsAsJSON();
    const states = json.find((metric) => metric.name === 'last_state')!;
    expect(states.values.map((value) => value.labels)).toEqual([
      { name: 'db', namespace: 'team-a', backend: 'vault' },
      { name: 'db', namespace: 'team-a', backend: 'secretsManager' },
    ]);
  });
});
