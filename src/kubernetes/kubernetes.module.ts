import { Module } from '@nestjs/common';
import { CrdCheckService } from './crd-check.service.js';
import { kubeConfigProvider } from './kube-config.provider.js';
import { KUBE_CONFIG } from './kubernetes.constants.js';

/** Everything that talks to the Kubernetes API server. */
@Module({
  providers: [kubeConfigProvider, CrdCheckService],
  exports: [KUBE_CONFIG, CrdCheckService],
})
export class KubernetesModule {}
