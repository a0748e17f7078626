import type { Logger } from 'pino';

let fatalLogger: Logger | undefined;
let installed = false;

/**
 * A promise nobody handled or an exception nobody caught leaves the controller in an unknown state: it is
 * logged at `fatal` with its stack and the process exits 1, so the kubelet restarts it clean rather than it
 * limping on silently. Installed on the first line of main, before anything else can fail.
 */
export function installProcessGuards(): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (error) => failFast('uncaught exception', error));
  process.on('unhandledRejection', (reason) => failFast('unhandled promise rejection', reason));
}

/** The logger fatal errors go to once configuration is loaded (before that: one JSON line on stderr). */
export function setFatalLogger(logger: Logger): void {
  fatalLogger = logger;
}

/** Logs a defect at `fatal` and exits 1. */
export function failFast(what: string, cause: unknown): never {
  const error = cause instanceof Error ? cause : new Error(String(cause));
  const message = `${what}: ${error.message}`;
  if (fatalLogger) {
    fatalLogger.fatal({ err: error }, message);
  } else {
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), msg: message, stack: error.stack })}\n`,
    );
  }
  process.exit(1);
}
