import { Module } from '@nestjs/common';
import { ClusterCache } from './cluster-cache.service.js';
import { CrdCheckService } from './crd-check.service.js';
import { EventRecorder } from './event-recorder.js';
import { ExternalSecretStatusStore } from './external-secret-status.store.js';
import { kubeConfigProvider } from './kube-config.provider.js';
import { KUBE_CONFIG } from './kubernetes.constants.js';
import { SecretStore } from './secret-store.js';

/** Everything that talks to the Kubernetes API server. */
@Module({
  providers: [
    kubeConfigProvider,
    CrdCheckService,
    ClusterCache,
    SecretStore,
    ExternalSecretStatusStore,
    EventRecorder,
  ],
  exports: [
    KUBE_CONFIG,
    CrdCheckService,
    ClusterCache,
    SecretStore,
    ExternalSecretStatusStore,
    EventRecorder,
  ],
})
export class KubernetesModule {}
