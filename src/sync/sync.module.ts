import { Module } from '@nestjs/common';
import { BackendsModule } from '../backends/backends.module.js';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { Reconciler } from './reconciler.service.js';
import { SyncService } from './sync.service.js';

/** Turns ExternalSecrets into Secrets: work queue, refresh scheduling and reconcile. */
@Module({
  imports: [KubernetesModule, BackendsModule],
  providers: [Reconciler, SyncService],
  exports: [SyncService],
})
export class SyncModule {}
