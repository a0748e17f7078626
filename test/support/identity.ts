import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { kubeClients } from './kube.js';

type Clients = ReturnType<typeof kubeClients>;

/** Creates a ServiceAccount and a kubeconfig file that authenticates as it (TokenRequest token). */
export async function serviceAccountKubeconfig(
  clients: Clients,
  namespace: string,
  name: string,
): Promise<string> {
  await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  return serviceAccountTokenKubeconfig(clients, namespace, name);
}

/** A kubeconfig file that authenticates as an existing ServiceAccount (TokenRequest token). */
export async function serviceAccountTokenKubeconfig(
  clients: Clients,
  namespace: string,
  name: string,
): Promise<string> {
  const request = await clients.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const cluster = clients.kubeConfig.getCurrentCluster()!;
  const file = join(mkdtempSync(join(tmpdir(), 'es-kubeconfig-')), 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `  - name: stack`,
      `    cluster: {server: "${cluster.server}", certificate-authority: "${cluster.caFile}"}`,
      'users:',
      `  - name: ${name}`,
      `    user: {token: "${request.status!.token}"}`,
      'contexts:',
      `  - name: stack`,
      `    context: {cluster: stack, user: ${name}}`,
      'current-context: stack',
      '',
    ].join('\n'),
  );
  return file;
}

/** Grants cluster-wide rules to a ServiceAccount (a ClusterRole and its binding named `name`). */
export async function grantClusterRules(
  clients: Clients,
  name: string,
  serviceAccount: { namespace: string; name: string },
  rules: V1PolicyRule[],
): Promise<void> {
  const { RbacAuthorizationV1Api } = await import('@kubernetes/client-node');
  const rbac = clients.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', ...serviceAccount }],
    },
  });
}
