import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { eventually } from './kube.js';

/** What the image runs: the production bundle (`npm run build`). */
export const CONTROLLER_MAIN = 'dist/bundle/main.mjs';
const MAIN = new URL(`../../${CONTROLLER_MAIN}`, import.meta.url).pathname;

/**
 * The Node.js flags the image runs the controller with (Dockerfile ENTRYPOINT and `npm start`, checked by a
 * test), so that tests and the benchmark measure the process users run.
 */
export const CONTROLLER_NODE_FLAGS = ['--optimize-for-size', '--heap-growing-percent=30'];
/** The environment the image sets for the controller's process (Dockerfile ENV, `npm start`; checked too). */
export const CONTROLLER_PROCESS_ENV = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=32768:glibc.malloc.arena_max=1',
};

/** The variables that have a value: one given as undefined is removed from an inherited environment. */
export function definedVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The built controller (`node <flags> dist/bundle/main.mjs`) running as a child process, with its output captured. */
export class ControllerProcess {
  readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (signal) this.output.push(`\n[test] the controller ended by ${signal}\n`);
        resolve(code);
      }),
    );
  }

  /** `nodeFlags` come after the image's flags (the benchmark's `--cpu-prof`). */
  static async start(
    env: NodeJS.ProcessEnv = {},
    main = MAIN,
    nodeFlags: readonly string[] = [],
  ): Promise<ControllerProcess> {
    const port = Number(env.METRICS_PORT ?? (await freePort()));
    const merged = {
      ...process.env,
      ...CONTROLLER_PROCESS_ENV,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    };
    const child = spawn(process.execPath, [...CONTROLLER_NODE_FLAGS, ...nodeFlags, main], {
      env: definedVariables(merged),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ControllerProcess(child, port);
  }

  get text(): string {
    return this.output.join('');
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Waits until the probe endpoint answers 200. */
  async waitHealthy(path = '/healthz', timeoutMs = 30_000): Promise<void> {
    await eventually(
      `${path} to answer 200`,
      async () => {
        if (this.child.exitCode !== null) {
          throw new Error(`the controller exited with ${this.child.exitCode}: ${this.text.slice(-1500)}`);
        }
        return (await fetch(this.url(path))).status === 200 ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** Resolves with the exit code, or rejects if the process is still running after the timeout. */
  async exitCode(timeoutMs = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`controller still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exitCode();
  }
}
