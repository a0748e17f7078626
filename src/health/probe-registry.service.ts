import { Injectable } from '@nestjs/common';

/** What one component says about itself: healthy or not, and why not. */
export interface ProbeReport {
  readonly ok: boolean;
  readonly detail?: string;
}

/** A component that takes part in the liveness and readiness probes (today: each informer). */
export interface ProbeSubject {
  /** Liveness: false only when the component is stuck and a restart would help. */
  live(): ProbeReport;
  /** Readiness: true once the component can do its work (e.g. the informer's first list is cached). */
  ready(): ProbeReport;
}

/** Collects the probe subjects of every module so that /healthz and /readyz see the whole controller. */
@Injectable()
export class ProbeRegistry {
  private readonly subjects = new Map<string, ProbeSubject>();

  register(name: string, subject: ProbeSubject): void {
    this.subjects.set(name, subject);
  }

  liveness(): Map<string, ProbeReport> {
    return this.collect((subject) => subject.live());
  }

  readiness(): Map<string, ProbeReport> {
    return this.collect((subject) => subject.ready());
  }

  private collect(read: (subject: ProbeSubject) => ProbeReport): Map<string, ProbeReport> {
    return new Map([...this.subjects].map(([name, subject]) => [name, read(subject)]));
  }
}
