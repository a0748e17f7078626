import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { putSecret } from '../support/aws.js';
import { CONTROLLER_NODE_FLAGS, ControllerProcess } from '../support/controller-process.js';
import { CHART, helm, renderChart, type RenderedObject } from '../support/helm.js';
import { serviceAccountTokenKubeconfig } from '../support/identity.js';
import {
  createExternalSecret,
  createTestNamespace,
  eventsOf,
  eventually,
  kubeClients,
  readSecretData,
  waitForStatus,
} from '../support/kube.js';

const root = new URL('../../', import.meta.url).pathname;
const find = (objects: RenderedObject[], kind: string, name?: string) =>
  objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
type Container = {
  env: Array<{ name: string; value?: string; valueFrom?: object }>;
  securityContext: object;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: Array<{ containerPort: number }>;
  image: string;
  volumeMounts: Array<{ name: string; mountPath: string }>;
};
type PodSpec = {
  securityContext: object;
  serviceAccountName: string;
  containers: Container[];
  volumes: object[];
};
const podSpecOf = (objects: RenderedObject[]) =>
  (find(objects, 'Deployment')[0] as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const envOf = (objects: RenderedObject[]) =>
  Object.fromEntries(
    podSpecOf(objects).containers[0]!.env.map((entry) => [entry.name, entry.value ?? entry.valueFrom]),
  );
const rulesOf = (object: RenderedObject) =>
  (object as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> }).rules;

describe('the Helm chart, the Dockerfile and the packaged app', () => {
  it('ships the same CRD as crds/ (one source of truth)', () => {
    const file = 'externalsecrets.kubernetes-client.io.yaml';
    expect(readdirSync(join(CHART, 'crds'))).toEqual([file]);
    expect(readFileSync(join(CHART, 'crds', file), 'utf8')).toBe(
      readFileSync(join(root, 'crds', file), 'utf8'),
    );
  });

  it('runs on one Node.js major everywhere: Dockerfile, engines, the test runtime', () => {
    const dockerMajors = [
      ...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM node:(\d+)/gm),
    ].map((match) => match[1]);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const enginesMajor = /(\d+)/.exec(manifest.engines.node)![1];
    expect(new Set(dockerMajors)).toEqual(new Set([enginesMajor]));
    expect(process.versions.node.split('.')[0]).toBe(enginesMajor);
  });

  it('starts the controller with the Node.js flags the tests and the benchmark use', () => {
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))![1]!;
    expect(JSON.parse(entrypoint)).toEqual(['node', ...CONTROLLER_NODE_FLAGS, 'dist/main.js']);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.start).toBe(['node', ...CONTROLLER_NODE_FLAGS, 'dist/main.js'].join(' '));
  });

  it.each(readdirSync(join(CHART, 'ci')))('passes helm lint --strict with ci/%s', async (values) => {
    const output = await helm('lint', '--strict', CHART, '-f', join(CHART, 'ci', values));
    expect(output).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders hardened defaults: probes, security contexts, cluster RBAC, no leader election', async () => {
    const objects = await renderChart();
    const pod = podSpecOf(objects);
    const container = pod.containers[0]!;
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.ports[0]!.containerPort).toBe(3001);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(envOf(objects)).toMatchObject({
      LEADER_ELECTION: 'false',
      METRICS_PORT: '3001',
      POLLER_INTERVAL_MILLISECONDS: '10000',
    });
    expect(
      find(objects, 'ClusterRole')
        .map((role) => role.metadata.name)
        .sort(),
    ).toEqual(['es-kubernetes-external-secrets', 'es-kubernetes-external-secrets-cluster']);
    expect(find(objects, 'Role')).toEqual([]);
    expect(find(objects, 'PodDisruptionBudget')).toEqual([]);
    expect(find(objects, 'ServiceMonitor')).toEqual([]);
    const syncRules = rulesOf(find(objects, 'ClusterRole', 'es-kubernetes-external-secrets')[0]!);
    expect(syncRules.flatMap((rule) => rule.verbs)).not.toContain('delete');
    expect(syncRules.flatMap((rule) => rule.resources)).not.toContain('configmaps');
  });

  it('turns leader election on with more than one replica, with a PDB and a ServiceMonitor', async () => {
    const objects = await renderChart('-f', join(CHART, 'ci', 'ha-values.yaml'));
    expect(envOf(objects)).toMatchObject({
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_LEASE_NAME: 'es-kubernetes-external-secrets',
    });
    expect(
      rulesOf(find(objects, 'Role', 'es-kubernetes-external-secrets-leader-election')[0]!),
    ).toContainEqual(
      expect.objectContaining({
        resourceNames: ['es-kubernetes-external-secrets'],
        verbs: ['get', 'update'],
      }),
    );
    expect(find(objects, 'PodDisruptionBudget')[0]).toMatchObject({ spec: { minAvailable: 1 } });
    expect(find(objects, 'ServiceMonitor')[0]).toMatchObject({
      spec: { endpoints: [{ path: '/metrics', interval: '15s' }] },
    });
  });

  it('uses Roles in the watched namespaces in namespaced mode, and binds auth-delegator on request', async () => {
    const objects = await renderChart('-f', join(CHART, 'ci', 'namespaced-values.yaml'));
    expect(
      find(objects, 'Role')
        .map((role) => role.metadata.namespace)
        .sort(),
    ).toEqual(['team-a', 'team-b']);
    expect(find(objects, 'ClusterRole').map((role) => role.metadata.name)).toEqual([
      'es-kubernetes-external-secrets-cluster',
    ]);
    expect(
      find(objects, 'ClusterRoleBinding', 'es-kubernetes-external-secrets-auth-delegator')[0],
    ).toMatchObject({
      roleRef: { name: 'system:auth-delegator' },
    });
  });

  it('keeps a KES values file working (env, envVarsFromSecret/ConfigMap, filesFromSecret, service account …)', async () => {
    const objects = await renderChart('-f', join(CHART, 'ci', 'kes-values.yaml'));
    const pod = podSpecOf(objects);
    expect(envOf(objects)).toMatchObject({
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'debug',
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'aws-credentials', key: 'id' } },
      NODE_EXTRA_CA_CERTS: { configMapKeyRef: { name: 'ca-paths', key: 'path' } },
    });
    expect(pod.serviceAccountName).toBe('kes');
    expect(pod.containers[0]!.image).toBe('example/kes:1.2.3');
    expect(pod.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'vault-ca', mountPath: '/usr/local/share/ca-certificates' }),
    );
    expect(pod.volumes).toContainEqual({ name: 'vault-ca', secret: { secretName: 'vault-ca' } });
    expect(find(objects, 'ServiceAccount')[0]).toMatchObject({
      metadata: {
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/external-secrets' },
      },
    });
    expect(find(objects, 'ServiceMonitor')[0]!.metadata.namespace).toBe('monitoring');
  });

  it('installs and upgrades on the API server; its ServiceAccount syncs, elects and records events, and nothing more', async () => {
    const release = `es-${randomBytes(3).toString('hex')}`;
    const fullname = `${release}-kubernetes-external-secrets`;
    const system = await createTestNamespace('chart');
    const apps = await createTestNamespace('chart-apps');
    const other = await createTestNamespace('chart-other');
    const values = ['--set', `env.WATCHED_NAMESPACES=${apps}`, '--set', 'env.AWS_REGION=us-east-1'];
    await helm('install', release, CHART, '--namespace', system, ...values);
    await helm('upgrade', release, CHART, '--namespace', system, ...values, '--set', 'replicaCount=2');
    expect(await helm('status', release, '--namespace', system)).toContain('REVISION: 2');

    // The controller process runs as the chart's ServiceAccount, with the chart's settings.
    const kubeconfig = await serviceAccountTokenKubeconfig(kubeClients(), system, fullname);
    await putSecret(`chart-${release}`, 'from-chart');
    const controller = await ControllerProcess.start({
      KUBECONFIG: kubeconfig,
      WATCHED_NAMESPACES: apps,
      LEADER_ELECTION: 'true',
      LEADER_ELECTION_NAMESPACE: system,
      LEADER_ELECTION_LEASE_NAME: fullname,
      POLLER_INTERVAL_MILLISECONDS: '2000',
    });
    try {
      await controller.waitHealthy('/readyz');
      const clients = kubeClients();
      await createExternalSecret(clients, apps, {
        metadata: { name: 'via-chart-rbac' },
        spec: { backendType: 'secretsManager', data: [{ key: `chart-${release}`, name: 'v' }] },
      });
      expect(
        await eventually(
          'the Secret',
          async () => (await readSecretData(clients, apps, 'via-chart-rbac'))?.data.v,
        ),
      ).toBe('from-chart');
      await waitForStatus(clients, apps, 'via-chart-rbac', 'SUCCESS');
      expect(await eventsOf(clients, apps, 'via-chart-rbac')).toContain(
        `Normal Created: Secret ${apps}/via-chart-rbac created`,
      );
      expect(await (await fetch(controller.url('/metrics'))).text()).toMatch(
        /^kubernetes_external_secrets_leader 1$/m,
      );

      // Calls outside the role are refused.
      const asController = new KubeConfig();
      asController.loadFromFile(kubeconfig);
      const core = asController.makeApiClient(CoreV1Api);
      const denied = async (call: Promise<unknown>) => {
        try {
          await call;
          return 'allowed';
        } catch (error) {
          return (error as { code?: number }).code;
        }
      };
      expect(
        await denied(core.createNamespacedSecret({ namespace: other, body: { metadata: { name: 'x' } } })),
      ).toBe(403);
      expect(await denied(core.listNamespacedSecret({ namespace: other }))).toBe(403);
      expect(await denied(core.deleteNamespacedSecret({ namespace: apps, name: 'via-chart-rbac' }))).toBe(
        403,
      );
      expect(await denied(core.listNamespacedConfigMap({ namespace: apps }))).toBe(403);
      const review = await asController.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              group: 'coordination.k8s.io',
              resource: 'leases',
              verb: 'update',
              name: 'someone-else',
              namespace: system,
            },
          },
        },
      });
      expect(review.status?.allowed).toBe(false);
    } finally {
      expect(await controller.stop()).toBe(0);
    }
  });

  it('starts from a production install of the built app in a clean folder and answers /healthz', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'kes-production-'));
    for (const entry of ['package.json', 'package-lock.json', 'dist'])
      cpSync(join(root, entry), join(folder, entry), { recursive: true });
    await promisify(execFile)('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: folder,
    });
    expect(readdirSync(join(folder, 'node_modules'))).not.toContain('vitest');
    const controller = await ControllerProcess.start(
      { WATCHED_NAMESPACES: 'kes-production-check' },
      join(folder, 'dist', 'main.js'),
    );
    try {
      await controller.waitHealthy('/healthz');
      await controller.waitHealthy('/readyz');
    } finally {
      expect(await controller.stop()).toBe(0);
    }
  });
});
