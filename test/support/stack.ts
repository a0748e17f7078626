import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = (name: string) => new URL(`../stack/${name}`, import.meta.url).pathname;

/** Kills one process of the local stack (etcd, kube-apiserver, bao, moto …) by its recorded PID and waits for it. */
export async function killStackProcess(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = Number(readFileSync(join(process.env.STACK_DIR!, `${name}.pid`), 'utf8'));
  process.kill(pid, signal);
  for (let tries = 0; tries < 100; tries++) {
    try {
      process.kill(pid, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch {
      return;
    }
  }
}

/** Starts whatever part of the stack is not running (start.sh is idempotent); `bootstrap` also re-runs bootstrap.sh. */
export async function startStack({ bootstrap = false } = {}): Promise<void> {
  await run('bash', [script('start.sh')]);
  if (bootstrap) await run('bash', [script('bootstrap.sh')]);
}
