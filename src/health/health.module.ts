import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ProbeRegistry } from './probe-registry.service.js';

/** The probes' HTTP endpoints, and the registry every module reports its health into. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ProbeRegistry],
  exports: [ProbeRegistry],
})
export class HealthModule {}
