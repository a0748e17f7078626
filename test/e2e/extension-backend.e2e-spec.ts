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
    // The one change outside the extension: the CRD lists the new backendType and the spec field the backend
    // declared (README: "Adding a backend").
    const specSchema = '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties';
    const patch = await rawRequest(
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
      JSON.stringify([
        { op: 'add', path: `${specSchema}/backendType/enum/-`, value: 'echo' },
        {
          op: 'add',
          path: `${specSchema}/echoPrefix`,
          value: { type: 'string', description: 'Put before every echoed value.' },
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

  it('gives the backend its own spec field, type-checked, and keys its identity on it', async () => {
    for (const [name, prefix] of [
      ['echo-a', 'a:'],
      ['echo-b', 'b:'],
    ]) {
      await createExternalSecret(clients, namespace, {
        metadata: { name },
        spec: { backendType: 'echo', echoPrefix: prefix, data: [{ key: 'dlrow', name: 'greeting' }] },
      });
    }
    // The same key through two identities: each object gets its own value, not the other's cached one.
    for (const [name, expected] of [
      ['echo-a', 'a:world'],
      ['echo-b', 'b:world'],
    ]) {
      expect(
        await eventually(
          `the Secret ${name}`,
          async () => (await readSecretData(clients, namespace, name!))?.data.greeting,
        ),
      ).toBe(expected);
    }
    // The deprecated secretDescriptor is stored unvalidated: the controller checks the declared type itself.
    await createExternalSecret(clients, namespace, {
      metadata: { name: 'echo-bad-field' },
      secretDescriptor: { backendType: 'echo', echoPrefix: 42, data: [{ key: 'x', name: 'x' }] },
    });
    expect((await waitForStatus(clients, namespace, 'echo-bad-field', 'ERROR')).status?.status).toBe(
      'ERROR, spec.echoPrefix must be of type string (backend echo)',
    );
  });
});
