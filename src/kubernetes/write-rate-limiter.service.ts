import { Inject, Injectable } from '@nestjs/common';
import { CONTROLLER_CONFIG } from '../config/config.constants.js';
import type { ControllerConfig } from '../config/controller-config.js';

/**
 * A token bucket for this controller's API-server writes (Secrets, status, events): at most KUBE_API_QPS per
 * second on average, bursts of KUBE_API_BURST. A first sync of 10,000 objects then spreads its writes instead of
 * storming the API server (and being throttled by its priority and fairness).
 */
@Injectable()
export class WriteRateLimiter {
  private tokens: number;
  private lastRefill = Date.now();
  private waiting: Promise<void> = Promise.resolve();

  constructor(@Inject(CONTROLLER_CONFIG) private readonly config: ControllerConfig) {
    this.tokens = config.kubeApiBurst;
  }

  /** Resolves when one write may go out; callers queue in order. */
  acquire(): Promise<void> {
    const turn = this.waiting.then(() => this.take());
    this.waiting = turn;
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(
        this.config.kubeApiBurst,
        this.tokens + ((now - this.lastRefill) / 1000) * this.config.kubeApiQps,
      );
      this.lastRefill = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) =>
        setTimeout(resolve, ((1 - this.tokens) / this.config.kubeApiQps) * 1000),
      );
    }
  }
}
