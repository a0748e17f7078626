import type { Provider } from '@nestjs/common';
import { KUBE_CONFIG } from './kubernetes.constants.js';
import { PooledKubeConfig } from './pooled-kube-config.js';

/**
 * The cluster connection: `KUBECONFIG` or `~/.kube/config` out of cluster, the ServiceAccount in cluster
 * (client-node's `loadFromDefault` order).
 */
export function loadKubeConfig(): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: set KUBECONFIG or run inside a cluster');
  }
  return kubeConfig;
}

export const kubeConfigProvider: Provider = { provide: KUBE_CONFIG, useFactory: loadKubeConfig };
