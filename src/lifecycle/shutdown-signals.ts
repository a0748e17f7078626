import type { Logger } from 'pino';

interface Shutdown {
  readonly close: () => Promise<void>;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

let shutdown: Shutdown | undefined;
let signalled = false;
let installed = false;

/**
 * SIGTERM and SIGINT end the controller with exit 0 from the first line of main on: while it starts (nothing
 * written yet, so nothing to finish) at once, afterwards once the application closed (intake stopped, in-flight
 * syncs finished, lease released), or exit 1 after the shutdown timeout. Our own handling rather than Nest's
 * enableShutdownHooks, which re-raises the signal after closing and so never exits 0; and `on`, not `once`: a
 * second signal during a drain must not fall back to the default action (death by signal).
 */
export function installShutdownSignals(): void {
  if (installed) return;
  installed = true;
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** From now on a signal closes the application gracefully. */
export function closeOnShutdownSignal(close: () => Promise<void>, timeoutMs: number, logger: Logger): void {
  shutdown = { close, timeoutMs, logger };
}

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) return;
  signalled = true;
  if (!shutdown) {
    process.stderr.write(
      `${JSON.stringify({ level: 'info', signal, msg: 'shutting down during start-up' })}\n`,
    );
    process.exit(0);
  }
  const { close, timeoutMs, logger } = shutdown;
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error({ timeoutMs }, 'graceful shutdown timed out');
    process.exit(1);
  }, timeoutMs).unref();
  close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
