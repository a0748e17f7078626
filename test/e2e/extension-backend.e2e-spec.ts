import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerProcess } from '../support/controller-process.js';
import {
  applyCrd,
  CRD_NAME,
  createExternalSecret,
  createTestNamespace,
  eventually,
  kubeClients,
  rawRequest,
  readSecretData,
  waitForStatus,
} from '../support/kube.js';

const EXTENSION = new URL('../extensions/echo-backend.module.js', import.meta.url).pathname;

describe('a backend added by an extension module outside src/', () => {
  const clients = kubeClients();
  let controller: ControllerProcess;
  let namespace: string;

  beforeAll(async () => {
    // The one change outside the extension: the CRD's backendType enum lists the new type (README: "Adding a backend").
    const patch = await rawRequest(
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/backendType/enum/-',
          value: 'echo',
        },
      ]),
      'application/json-patch+json',
    );
    expect(patch.status).toBe(200);
    namespace = await createTestNamespace('extension');
    controller = await ControllerProcess.start({
      EXTENSION_MODULES: EXTENSION,
      WATCHED_NAMESPACES: namespace,
    });
    await controller.waitHealthy('/readyz');
  });

  afterAll(async () => {
    await controller?.stop();
    await applyCrd(clients);
  });

  it('syncs through the extension backend with the same engine (values, property errors, status)', async () => {
    await eventually('the CRD to accept echo', async () => {
      try {
        await createExternalSecret(clients, namespace, {
          metadata: { name: 'echoed' },
          spec: { backendType: 'echo', data: [{ key: 'olleh', name: 'greeting' }] },
        });
        return true;
      } catch {
        return undefined;
      }
    });
    expect(
      await eventually(
        'the echoed Secret',
        async () => (await readSecretData(clients, namespace, 'echoed'))?.data.greeting,
      ),
    ).toBe('hello');
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'echo-missing' },
      spec: { backendType: 'echo', data: [{ key: 'missing', name: 'x' }] },
    });
    expect((await waitForStatus(clients, namespace, 'echo-missing', 'ERROR')).status?.status).toBe(
      'ERROR, remote key missing not found',
    );
  });
});
