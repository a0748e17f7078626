import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { AppsV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { putSecret } from '../support/aws.js';
import {
  CONTROLLER_MAIN,
  CONTROLLER_NODE_FLAGS,
  CONTROLLER_PROCESS_ENV,
  ControllerProcess,
} from '../support/controller-process.js';
import { CHART, helm, helmError, renderChart, valuesFile, type RenderedObject } from '../support/helm.js';
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
  imagePullPolicy: string;
  volumeMounts: Array<{ name: string; mountPath: string }>;
  [field: string]: unknown;
};
type PodSpec = {
  securityContext: object;
  serviceAccountName: string;
  containers: Container[];
  volumes: object[];
  [field: string]: unknown;
};
type Labels = Record<string, string>;
type Deployment = RenderedObject & {
  metadata: { labels: Labels };
  spec: {
    replicas: number;
    selector: { matchLabels: Labels };
    template: { metadata: { labels: Labels; annotations?: Labels }; spec: PodSpec };
  };
};
const podSpecOf = (objects: RenderedObject[]) =>
  (find(objects, 'Deployment')[0] as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const envOf = (objects: RenderedObject[]) =>
  Object.fromEntries(
    podSpecOf(objects).containers[0]!.env.map((entry) => [entry.name, entry.value ?? entry.valueFrom]),
  );
const rulesOf = (object: RenderedObject) =>
  (object as unknown as { rules: Array<{ resources: string[]; verbs: string[] }> }).rules;

// KES 8.5.5's keys are read from its own values.yaml (test/fixtures); ci/kes-values.yaml sets every one.
const KES_DEFAULTS = join(root, 'test', 'fixtures', 'kes-8.5.5-values.yaml');
const KES_ALL_KEYS = join(CHART, 'ci', 'kes-values.yaml');
type Values = Record<string, unknown>;
const readValues = (file: string) => parse(readFileSync(file, 'utf8')) as Values;
const isObject = (value: unknown): value is Values =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const valueAt = (values: Values, path: string) =>
  path.split('.').reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), values);

/** The dotted paths of a values file's leaves (an empty object or list is a leaf; securityContext is one). */
const leavesOf = (value: unknown, path = ''): string[] =>
  isObject(value) && Object.keys(value).length > 0 && path !== 'securityContext'
    ? Object.entries(value).flatMap(([key, child]) => leavesOf(child, path === '' ? key : `${path}.${key}`))
    : [path];

/**
 * The keys of KES 8.5.5's chart: the leaves of its values.yaml (a Kubernetes object such as securityContext is one
 * key), and filesFromSecret, which its templates read but its values.yaml has only in a comment.
 */
function kesKeys(): string[] {
  return [...leavesOf(readValues(KES_DEFAULTS)), 'filesFromSecret']
    .filter((key) => key !== 'env.AWS_EC2_METADATA_DISABLED') // added to the fixture for the tests
    .sort();
}

interface Rendering {
  values: Values;
  objects: RenderedObject[];
  deployment: Deployment;
  pod: PodSpec;
  container: Container;
  env: Record<string, unknown>;
}
/** How a KES key shows in the rendered manifests, given its value in ci/kes-values.yaml. */
type Effect = (value: unknown, rendering: Rendering) => void | Promise<void>;
const envEffect =
  (name: string): Effect =>
  (value, { env }) =>
    expect(env[name], `env.${name}`).toBe(String(value));
const each = <T>(value: unknown) => Object.entries(value as Record<string, T>);
const subjectsOf = (object: RenderedObject) =>
  (object as unknown as { subjects: Array<{ name: string }> }).subjects;
const kesKeyEffects: Record<string, Effect> = {
  // Every env.* key also gets envEffect: rendered as that variable, as a string.
  'env.METRICS_PORT': (value, { container, objects }) => {
    expect(container.ports[0]!.containerPort).toBe(value);
    expect(find(objects, 'Service')[0]).toMatchObject({ spec: { ports: [{ port: value }] } });
  },
  'env.WATCHED_NAMESPACES': (value, { objects }) =>
    expect(
      find(objects, 'Role')
        .filter((role) => !role.metadata.name.endsWith('-leader-election'))
        .map((role) => role.metadata.namespace),
    ).toEqual(String(value).split(',')),
  envVarsFromSecret: (value, { env }) => {
    for (const [name, ref] of each<{ secretKeyRef: string; key: string }>(value))
      expect(env[name]).toEqual({ secretKeyRef: { name: ref.secretKeyRef, key: ref.key } });
  },
  envVarsFromConfigMap: (value, { env }) => {
    for (const [name, ref] of each<{ configMapKeyRef: string; key: string }>(value))
      expect(env[name]).toEqual({ configMapKeyRef: { name: ref.configMapKeyRef, key: ref.key } });
  },
  envFrom: (value, { container }) => expect(container.envFrom).toEqual(value),
  filesFromSecret: (value, { container, pod }) => {
    for (const [name, file] of each<{ secret: string; mountPath: string }>(value)) {
      expect(container.volumeMounts).toContainEqual({ name, mountPath: file.mountPath, readOnly: true });
      expect(pod.volumes).toContainEqual({ name, secret: { secretName: file.secret } });
    }
  },
  'rbac.create': async (value, { objects }) => {
    expect(value).toBe(true);
    const rbacKinds = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
    expect(objects.filter((object) => rbacKinds.includes(object.kind)).length).toBeGreaterThan(0);
    const off = await renderChart('-f', KES_ALL_KEYS, '--set', 'rbac.create=false');
    expect(off.filter((object) => rbacKinds.includes(object.kind))).toEqual([]);
  },
  'serviceAccount.create': async (value, { objects }) => {
    expect(value).toBe(true);
    expect(find(objects, 'ServiceAccount')).toHaveLength(1);
    const off = await renderChart('-f', KES_ALL_KEYS, '--set', 'serviceAccount.create=false');
    expect(find(off, 'ServiceAccount')).toEqual([]);
  },
  'serviceAccount.annotations': (value, { objects }) =>
    expect(find(objects, 'ServiceAccount')[0]!.metadata).toMatchObject({ annotations: value as Values }),
  'serviceAccount.name': (value, { objects, pod }) => {
    expect(pod.serviceAccountName).toBe(value);
    expect(find(objects, 'ServiceAccount')[0]!.metadata.name).toBe(value);
    const bindings = [...find(objects, 'ClusterRoleBinding'), ...find(objects, 'RoleBinding')];
    expect(
      new Set(bindings.flatMap((binding) => subjectsOf(binding).map((subject) => subject.name))),
    ).toEqual(new Set([value]));
  },
  replicaCount: (value, { deployment, env }) => {
    expect(deployment.spec.replicas).toBe(value);
    expect(env.LEADER_ELECTION).toBe('true');
  },
  'image.repository': (value, { container }) => expect(container.image.split(':')[0]).toBe(value),
  'image.tag': (value, { container }) => expect(container.image.split(':')[1]).toBe(value),
  'image.pullPolicy': (value, { container }) => expect(container.imagePullPolicy).toBe(value),
  imagePullSecrets: (value, { pod }) => expect(pod.imagePullSecrets).toEqual(value),
  nameOverride: (value, { deployment, objects }) => {
    expect(deployment.spec.selector.matchLabels['app.kubernetes.io/name']).toBe(value);
    expect(find(objects, 'Service')[0]).toMatchObject({
      spec: { selector: { 'app.kubernetes.io/name': value } },
    });
  },
  fullnameOverride: (value, { objects }) => {
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'ServiceMonitor'])
      expect(find(objects, kind)[0]!.metadata.name, kind).toBe(value);
    expect(find(objects, 'ClusterRole').map((role) => role.metadata.name)).toEqual([
      `${String(value)}-cluster`,
    ]);
  },
  deploymentLabels: (value, { deployment }) =>
    expect(deployment.metadata.labels).toMatchObject(value as Labels),
  podAnnotations: (value, { deployment }) =>
    expect(deployment.spec.template.metadata.annotations).toEqual(value),
  podLabels: (value, { deployment }) =>
    expect(deployment.spec.template.metadata.labels).toMatchObject(value as Labels),
  priorityClassName: (value, { pod }) => expect(pod.priorityClassName).toBe(value),
  dnsConfig: (value, { pod }) => expect(pod.dnsConfig).toEqual(value),
  securityContext: (value, { pod }) => expect(pod.securityContext).toMatchObject(value as Values),
  containerSecurityContext: (value, { container }) =>
    expect(container.securityContext).toMatchObject(value as Values),
  resources: (value, { container }) => expect(container.resources).toMatchObject(value as Values),
  nodeSelector: (value, { pod }) => expect(pod.nodeSelector).toEqual(value),
  tolerations: (value, { pod }) => expect(pod.tolerations).toEqual(value),
  affinity: (value, { pod }) => expect(pod.affinity).toEqual(value),
  podDisruptionBudget: (value, { objects }) =>
    expect(find(objects, 'PodDisruptionBudget')[0]).toMatchObject({ spec: value as Values }),
  'serviceMonitor.enabled': (value, { objects }) =>
    expect(find(objects, 'ServiceMonitor')).toHaveLength(value ? 1 : 0),
  'serviceMonitor.interval': (value, { objects }) =>
    expect(find(objects, 'ServiceMonitor')[0]).toMatchObject({ spec: { endpoints: [{ interval: value }] } }),
  'serviceMonitor.namespace': (value, { objects }) =>
    expect(find(objects, 'ServiceMonitor')[0]!.metadata.namespace).toBe(value),
  // As in KES: fields of the pod spec, as they are.
  deploymentInitContainers: (value, { pod }) => expect(pod).toMatchObject(value as Values),
  extraVolumes: (value, { pod }) => expect(pod.volumes).toEqual(expect.arrayContaining(value as object[])),
  extraVolumeMounts: (value, { container }) =>
    expect(container.volumeMounts).toEqual(expect.arrayContaining(value as object[])),
  customClusterRoles: (value, { objects, values }) =>
    expect(rulesOf(find(objects, 'ClusterRole', `${String(values.fullnameOverride)}-cluster`)[0]!)).toEqual(
      expect.arrayContaining(value as object[]),
    ),
};

// helm's message for values that do not meet values.schema.json: this line, then one line per problem.
const SCHEMA_ERROR =
  "values don't meet the specifications of the schema(s) in the following chart(s):\nkubernetes-external-secrets:\n";

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

  it('starts the controller as the tests and the benchmark do: the bundle, its Node.js flags and environment', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!;
    expect(JSON.parse(entrypoint)).toEqual(['node', ...CONTROLLER_NODE_FLAGS, CONTROLLER_MAIN]);
    const environment = Object.entries(CONTROLLER_PROCESS_ENV).map(([name, value]) => `${name}=${value}`);
    for (const assignment of environment) expect(dockerfile).toMatch(new RegExp(`^ENV ${assignment}$`, 'm'));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.start).toBe(
      [...environment, 'node', ...CONTROLLER_NODE_FLAGS, CONTROLLER_MAIN].join(' '),
    );
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
    // delete only for Secrets (replacing one whose type changes), never a deletecollection.
    expect(syncRules.find((rule) => rule.resources?.includes('secrets'))?.verbs).toEqual([
      'list',
      'watch',
      'get',
      'create',
      'patch',
      'delete',
    ]);
    expect(
      syncRules.filter((rule) => rule.verbs.includes('delete')).flatMap((rule) => rule.resources),
    ).toEqual(['secrets']);
    expect(syncRules.flatMap((rule) => rule.verbs)).not.toContain('deletecollection');
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

  it('grants patch on workloads for rolloutRestartTargets unless rolloutRestart.enabled is false; sets the deletion policy and the coalescing window', async () => {
    const workloadRule = {
      apiGroups: ['apps'],
      resources: ['deployments', 'statefulsets', 'daemonsets'],
      verbs: ['patch'],
    };
    const byDefault = await renderChart();
    expect(rulesOf(find(byDefault, 'ClusterRole', 'es-kubernetes-external-secrets')[0]!)).toContainEqual(
      workloadRule,
    );
    expect(envOf(byDefault)).toMatchObject({
      DEFAULT_DELETION_POLICY: 'Delete',
      ROLLOUT_RESTART_COALESCE_MILLISECONDS: '10000',
    });
    const namespaced = await renderChart('-f', join(CHART, 'ci', 'namespaced-values.yaml'));
    for (const role of find(namespaced, 'Role').filter(
      (each) => !each.metadata.name.endsWith('-leader-election'),
    )) {
      expect(rulesOf(role)).toContainEqual(workloadRule);
    }
    const withheld = await renderChart(
      '--set',
      'rolloutRestart.enabled=false',
      '--set',
      'rolloutRestart.coalesceMilliseconds=0',
      '--set',
      'defaultDeletionPolicy=Retain',
    );
    const rules = rulesOf(find(withheld, 'ClusterRole', 'es-kubernetes-external-secrets')[0]!);
    expect(rules.flatMap((rule) => rule.resources)).not.toContain('deployments');
    expect(envOf(withheld)).toMatchObject({
      DEFAULT_DELETION_POLICY: 'Retain',
      ROLLOUT_RESTART_COALESCE_MILLISECONDS: '0',
    });
    await expect(renderChart('--set', 'defaultDeletionPolicy=Orphan')).rejects.toThrow(
      /defaultDeletionPolicy/,
    );
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

  it('takes every key of KES 8.5.5 values.yaml (ci/kes-values.yaml sets each one) and each one takes effect', async () => {
    const keys = kesKeys();
    expect(keys).toEqual(
      expect.arrayContaining([
        'envFrom',
        'deploymentLabels',
        'dnsConfig',
        'deploymentInitContainers',
        'customClusterRoles',
      ]),
    );
    expect(Object.keys(kesKeyEffects).filter((key) => !keys.includes(key))).toEqual([]);
    const values = readValues(KES_ALL_KEYS);
    const objects = await renderChart('-f', KES_ALL_KEYS);
    const deployment = find(objects, 'Deployment')[0] as unknown as Deployment;
    const pod = deployment.spec.template.spec;
    const rendering: Rendering = {
      values,
      objects,
      deployment,
      pod,
      container: pod.containers[0]!,
      env: envOf(objects),
    };
    for (const key of keys) {
      const value = valueAt(values, key);
      const empty =
        value === undefined ||
        value === null ||
        value === '' ||
        (Array.isArray(value) && value.length === 0) ||
        (isObject(value) && Object.keys(value).length === 0);
      expect(empty, `${key} is set in ci/kes-values.yaml`).toBe(false);
      const effects = [
        kesKeyEffects[key],
        key.startsWith('env.') ? envEffect(key.slice(4)) : undefined,
      ].filter((effect) => effect !== undefined);
      expect(effects.length, `a check for ${key}`).toBeGreaterThan(0);
      for (const effect of effects) {
        try {
          await effect(value, rendering);
        } catch (error) {
          (error as Error).message = `${key}: ${(error as Error).message}`;
          throw error;
        }
      }
    }
  });

  it("renders KES 8.5.5's own values.yaml: KES's defaults, and {} for envFrom, deploymentInitContainers, customClusterRoles means none", async () => {
    const lint = await helm('lint', '--strict', CHART, '-f', KES_DEFAULTS);
    expect(lint).toContain('1 chart(s) linted, 0 chart(s) failed');
    const objects = await renderChart('-f', KES_DEFAULTS);
    const pod = podSpecOf(objects) as PodSpec & Record<string, unknown>;
    const container = pod.containers[0]! as Container & Record<string, unknown>;
    expect(container.image).toBe('ghcr.io/external-secrets/kubernetes-external-secrets:8.5.5');
    expect(envOf(objects)).toMatchObject({
      AWS_REGION: 'us-west-2',
      WATCH_TIMEOUT: '60000',
      LOG_MESSAGE_KEY: 'msg',
      AKEYLESS_API_ENDPOINT: 'https://api.akeyless.io',
    });
    expect(envOf(objects)).not.toHaveProperty('AKEYLESS_ACCESS_ID');
    expect(container).not.toHaveProperty('envFrom');
    expect(pod).not.toHaveProperty('initContainers');
    expect(pod).not.toHaveProperty('dnsConfig');
    expect(find(objects, 'Deployment')[0]!.metadata).toMatchObject({
      labels: { 'app.kubernetes.io/name': 'kubernetes-external-secrets' },
    });
    expect(rulesOf(find(objects, 'ClusterRole', 'es-kubernetes-external-secrets-cluster')[0]!)).toHaveLength(
      2,
    );
    expect(find(objects, 'ClusterRole', 'es-kubernetes-external-secrets')).toHaveLength(1);
  });

  it.each([
    [
      'an unknown top-level key',
      { replicaCont: 2 },
      "- at '': additional properties 'replicaCont' not allowed",
    ],
    [
      'a typo in a well-known object',
      { serviceAccount: { anotations: {} } },
      "- at '/serviceAccount': additional properties 'anotations' not allowed",
    ],
    ['a wrong type', { replicaCount: 'two' }, "- at '/replicaCount': got string, want integer"],
    [
      'customClusterRoles as a map',
      { customClusterRoles: { verbs: ['get'] } },
      "- at '/customClusterRoles': got object, want array",
    ],
    [
      'a label that is not a string',
      { deploymentLabels: { tier: 1 } },
      "- at '/deploymentLabels/tier': got number, want string",
    ],
  ])('refuses %s in helm template with a schema message', async (_case, values, message) => {
    const error = await helmError('template', 'es', CHART, '-f', valuesFile(values));
    expect(error).toContain(SCHEMA_ERROR);
    expect(error).toContain(message);
  });

  it("describes every key of its values.yaml and of KES 8.5.5's in values.schema.json", () => {
    type Schema = { description?: string; $ref?: string; properties?: Record<string, Schema> };
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Schema;
    const resolve = (node: Schema): Schema =>
      node.$ref === undefined
        ? node
        : resolve(
            node.$ref
              .slice(2)
              .split('/')
              .reduce((parent, key) => (parent as Record<string, Schema>)[key]!, schema),
          );
    // The deepest schema node the path reaches (a free-form map such as env, or a Kubernetes object, ends it).
    const nodeAt = (path: string) =>
      path.split('.').reduce((node, key) => resolve(node).properties?.[key] ?? node, schema);
    const keys = [...leavesOf(readValues(join(CHART, 'values.yaml'))), ...kesKeys()];
    const undescribed = keys.filter((key) => {
      const node = nodeAt(key);
      return node === schema || !(node.description ?? resolve(node).description);
    });
    expect(undescribed).toEqual([]);
  });

  it('runs in the node’s network on request (hostNetwork, with the DNS policy that goes with it)', async () => {
    const podOf = async (...args: string[]) => podSpecOf(await renderChart(...args));
    const defaults = await podOf();
    expect(defaults).not.toHaveProperty('hostNetwork');
    expect(defaults).not.toHaveProperty('dnsPolicy');
    expect(await podOf('--set', 'hostNetwork=true')).toMatchObject({
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
    });
    expect(await podOf('--set', 'hostNetwork=true', '--set', 'dnsPolicy=Default')).toMatchObject({
      dnsPolicy: 'Default',
    });
    expect(await helmError('template', 'es', CHART, '--set', 'dnsPolicy=Sometimes')).toMatch(/dnsPolicy/);
  });

  it('refuses an unknown key in helm install before anything reaches the API server', async () => {
    const namespace = await createTestNamespace('chart-schema');
    const error = await helmError(
      'install',
      'typo',
      CHART,
      '--namespace',
      namespace,
      '-f',
      valuesFile({ replicaCont: 2 }),
    );
    expect(error).toContain(`${SCHEMA_ERROR}- at '': additional properties 'replicaCont' not allowed`);
    const { core, kubeConfig } = kubeClients();
    // No release record (helm keeps them as Secrets labelled owner=helm) and none of the chart's objects.
    expect((await core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm' })).items).toEqual([]);
    const ofRelease = { namespace, labelSelector: 'app.kubernetes.io/instance=typo' };
    expect((await core.listNamespacedServiceAccount(ofRelease)).items).toEqual([]);
    expect((await kubeConfig.makeApiClient(AppsV1Api).listNamespacedDeployment(ofRelease)).items).toEqual([]);
  });

  it('installs the KES values file with every key on the API server: what it adds is stored, and customClusterRoles is granted', async () => {
    const release = `kes-${randomBytes(3).toString('hex')}`;
    const system = await createTestNamespace('chart-kes');
    const apps = await createTestNamespace('chart-kes-apps');
    const clients = kubeClients();
    await helm(
      ...['install', release, CHART, '--namespace', system, '-f', KES_ALL_KEYS],
      ...['--set', `fullnameOverride=${release}`, '--set', `env.WATCHED_NAMESPACES=${apps}`],
      ...['--set', 'serviceMonitor.enabled=false'], // no Prometheus Operator CRDs on the stack
    );
    try {
      const values = readValues(KES_ALL_KEYS);
      const apps1 = clients.kubeConfig.makeApiClient(AppsV1Api);
      const stored = await apps1.readNamespacedDeployment({ namespace: system, name: release });
      expect(stored.metadata!.labels).toMatchObject(values.deploymentLabels as object);
      expect(stored.spec!.template.spec!.dnsConfig).toEqual(values.dnsConfig);
      expect(stored.spec!.template.spec!.initContainers!.map((container) => container.name)).toEqual([
        'wait-for-vault',
      ]);
      expect(stored.spec!.template.spec!.containers[0]!.envFrom).toEqual(values.envFrom);
      const can = async (verb: string, resource: string) =>
        (
          await clients.kubeConfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
            body: {
              spec: {
                user: `system:serviceaccount:${system}:kes`,
                resourceAttributes: { verb, resource, namespace: apps },
              },
            },
          })
        ).status!.allowed;
      expect(await can('list', 'configmaps')).toBe(true); // customClusterRoles
      expect(await can('delete', 'configmaps')).toBe(false);
      expect(await can('patch', 'secrets')).toBe(true); // the chart's own rules
    } finally {
      await helm('uninstall', release, '--namespace', system);
    }
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
        `Normal Created: Secret ${apps}/via-chart-rbac created: added v`,
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
      expect(await denied(core.deleteNamespacedSecret({ namespace: other, name: 'x' }))).toBe(403);
      expect(await denied(core.deleteCollectionNamespacedSecret({ namespace: apps }))).toBe(403);
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
