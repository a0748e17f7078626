import { afterEach, describe, expect, it } from 'vitest';
import { ControllerProcess } from '../support/controller-process.js';
import { applyCrd, CRD_NAME, eventually, kubeClients } from '../support/kube.js';

describe('the controller process against the local stack', () => {
  const clients = kubeClients();
  let controller: ControllerProcess | undefined;

  afterEach(async () => {
    await controller?.stop('SIGKILL').catch(() => undefined);
    controller = undefined;
  });

  it('serves /healthz, /readyz and /metrics with process metrics, and exits 0 on SIGTERM', async () => {
    controller = await ControllerProcess.start();
    await controller.waitHealthy('/healthz');
    await controller.waitHealthy('/readyz');

    const metrics = await (await fetch(controller.url('/metrics'))).text();
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);

    expect(await controller.stop('SIGTERM')).toBe(0);
    for (const line of controller.text.trim().split('\n')) {
      expect(() => JSON.parse(line) as unknown, `log line is JSON: ${line}`).not.toThrow();
    }
  });

  it('stops with one message that lists every invalid setting', async () => {
    controller = await ControllerProcess.start({ METRICS_PORT: 'abc', POLLER_INTERVAL_MILLISECONDS: '-5' });
    expect(await controller.exitCode()).toBe(1);
    expect(controller.text).toContain('invalid configuration:');
    expect(controller.text).toContain('METRICS_PORT="abc"');
    expect(controller.text).toContain('POLLER_INTERVAL_MILLISECONDS="-5"');
  });

  it('exits non-zero with a clear error when the CRD is not installed', async () => {
    await clients.apiextensions.deleteCustomResourceDefinition({ name: CRD_NAME });
    try {
      await eventually('the CRD to be gone', async () => {
        try {
          await clients.apiextensions.readCustomResourceDefinition({ name: CRD_NAME });
          return undefined;
        } catch {
          return true;
        }
      });
      controller = await ControllerProcess.start();
      expect(await controller.exitCode()).toBe(1);
      expect(controller.text).toContain(
        `the CustomResourceDefinition ${CRD_NAME} is not installed: apply crds/ (or install the Helm chart) first`,
      );
    } finally {
      await applyCrd(clients);
    }
  });

  it('exits 0 on a SIGTERM that arrives while it is still starting', async () => {
    // Any moment of start-up: as soon as the first line of main ran (modules still loading) and a little later.
    for (const delayMs of [150, 400]) {
      controller = await ControllerProcess.start();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      expect(await controller.stop('SIGTERM'), controller.text).toBe(0);
    }
  });

  it('ends with a fatal log line (with the stack) and exit 1 on an unhandled promise rejection', async () => {
    const extension = new URL('../extensions/defect.module.js', import.meta.url).pathname;
    controller = await ControllerProcess.start({ EXTENSION_MODULES: extension });
    expect(await controller.exitCode()).toBe(1);
    const fatal = controller.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => ({ line, parsed: JSON.parse(line) as Record<string, unknown> }))
      .find(({ parsed }) => parsed.level === 60 || parsed.level === 'fatal');
    expect(fatal?.line).toContain('unhandled promise rejection: defect in an extension');
    expect(fatal?.line).toContain('defect.module.js');
  });
});
