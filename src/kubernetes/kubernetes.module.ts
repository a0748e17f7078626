import { Module } from '@nestjs/common';
import { ClusterCache } from './cluster-cache.service.js';
import { CrdCheckService } from './crd-check.service.js';
import { EventRecorder } from './event-recorder.service.js';
import { ExternalSecretStatusStore } from './external-secret-status.store.js';
import { kubeConfigProvider } from './kube-config.provider.js';
import { KUBE_CONFIG } from './kubernetes.constants.js';
import { LeaderElector } from './leader-elector.service.js';
import { SecretStore } from './secret.store.js';
import { WorkloadStore } from './workload.store.js';
import { WriteRateLimiter } from './write-rate-limiter.service.js';

const services = [
  CrdCheckService,
  ClusterCache,
  SecretStore,
  ExternalSecretStatusStore,
  EventRecorder,
  LeaderElector,
  WorkloadStore,
  WriteRateLimiter,
];

/** Everything that talks to the Kubernetes API server. */
@Module({
  providers: [kubeConfigProvider, ...services],
  exports: [KUBE_CONFIG, ...services],
})
export class KubernetesModule {}
