import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { BackendsModule } from '../backends/backends.module.js';
import { KubernetesModule } from '../kubernetes/kubernetes.module.js';
import { Reconciler } from './reconciler.service.js';
import { RolloutRestarter } from './rollout-restarter.service.js';
import { SyncService } from './sync.service.js';

/** Turns ExternalSecrets into Secrets: work queue, refresh scheduling (named @nestjs/schedule jobs) and reconcile. */
@Module({
  imports: [ScheduleModule.forRoot(), KubernetesModule, BackendsModule],
  providers: [Reconciler, RolloutRestarter, SyncService],
  exports: [SyncService],
})
export class SyncModule {}
