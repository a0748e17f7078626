import { Module } from '@nestjs/common';
import { BackendsModule } from '../backends/backends.module.js';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';

/** Turns ExternalSecrets into Secrets: work queue, refresh scheduling and reconcile. */
@Module({
  imports: [KubernetesModule, BackendsModule],
})
export class SyncModule {}
