import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The real-node test's environment (test/node/inside.sh exports it); missing means the test runs outside it. */
export function nodeEnv() {
  const { CONTAINERD_SOCKET, NODE_DIR, NODE_IP, NODE_CGROUP_ROOT } = process.env;
  if (!CONTAINERD_SOCKET || !NODE_DIR || !NODE_IP || !NODE_CGROUP_ROOT) {
    throw new Error('the node tests run on the real node: `bash test/node/run.sh` (or `npm test`)');
  }
  return { socket: CONTAINERD_SOCKET, nodeDir: NODE_DIR, nodeIp: NODE_IP, cgroupRoot: NODE_CGROUP_ROOT };
}

/** `ctr` against the node's containerd, in the CRI's namespace. */
export async function ctr(...args: string[]): Promise<string> {
  const { stdout } = await run('ctr', ['-a', nodeEnv().socket, '-n', 'k8s.io', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The id of a container from a Pod's status (`containerd://<id>`). */
export const containerIdOf = (containerStatusId: string | undefined): string => {
  const id = containerStatusId?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error('the container has no id yet');
  return id;
};

/** The host PID of a running container's init process, as containerd reports it. */
export async function containerPid(containerId: string): Promise<number> {
  const line = (await ctr('tasks', 'ls'))
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .find(([task]) => task === containerId);
  if (!line || line[2] !== 'RUNNING')
    throw new Error(`container ${containerId} is not running in containerd`);
  return Number(line[1]);
}

/** What the kernel says a process runs as: /proc/<pid>/status fields and its root mount's options. */
export function processState(pid: number) {
  const status = Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
  ) as Record<string, string>;
  // mountinfo: id parent major:minor root mount-point options …; the container's root is its mount point "/".
  const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[4] === '/');
  return {
    uids: status.Uid!.split(/\s+/).map(Number),
    gids: status.Gid!.split(/\s+/).map(Number),
    effectiveCapabilities: BigInt(`0x${status.CapEff}`),
    permittedCapabilities: BigInt(`0x${status.CapPrm}`),
    boundingCapabilities: BigInt(`0x${status.CapBnd}`),
    noNewPrivileges: status.NoNewPrivs === '1',
    /** 0 none, 1 strict, 2 filter (a seccomp profile such as RuntimeDefault). */
    seccompMode: Number(status.Seccomp),
    rootMountOptions: rootMount?.[5]?.split(',') ?? [],
  };
}

/** The memory cgroup (v1) folder of a container: <cgroup root>/kubepods/<qos>/pod<uid>/<container id>. */
export function containerMemoryCgroup(containerId: string): string {
  const { cgroupRoot } = nodeEnv();
  const search = (folder: string, depth: number): string | undefined => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (!statSync(path).isDirectory()) continue;
      if (entry === containerId) return path;
      if (depth > 0) {
        const found = search(path, depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  const found = search(join('/sys/fs/cgroup/memory', cgroupRoot), 4);
  if (!found) throw new Error(`no memory cgroup for container ${containerId}`);
  return found;
}

/** The memory figures of a cgroup v1 folder, in bytes (rss: anonymous memory, the process's own). */
export function cgroupMemory(folder: string) {
  const stat = Object.fromEntries(
    readFileSync(join(folder, 'memory.stat'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([key, value]) => [key, Number(value)]),
  ) as Record<string, number>;
  const number = (file: string) => Number(readFileSync(join(folder, file), 'utf8').trim());
  const oomControl = readFileSync(join(folder, 'memory.oom_control'), 'utf8');
  return {
    rss: stat.total_rss ?? stat.rss ?? 0,
    usage: number('memory.usage_in_bytes'),
    maxUsage: number('memory.max_usage_in_bytes'),
    limit: number('memory.limit_in_bytes'),
    oomKills: Number(/oom_kill (\d+)/.exec(oomControl)?.[1] ?? 0),
  };
}

/**
 * Copies the kubelet's Pod logs ($NODE_DIR/pod-logs/<namespace>_<pod>_<uid>/<container>/<start>.log, one per
 * start of the container) to $NODE_DIR/kept-logs/<namespace>_<pod>.<start>.log every half second while it runs: the kubelet removes a Pod's logs
 * with the Pod, and a test that deleted one needs them to explain a failure.
 */
export function keepPodLogs() {
  const { nodeDir } = nodeEnv();
  const source = join(nodeDir, 'pod-logs');
  const kept = join(nodeDir, 'kept-logs');
  mkdirSync(kept, { recursive: true });
  const sizes = new Map<string, number>();
  const copy = () => {
    if (!existsSync(source)) return;
    for (const pod of readdirSync(source)) {
      const name = pod.split('_').slice(0, 2).join('_');
      for (const container of safeReaddir(join(source, pod))) {
        // One file per start of the container: 0.log, then 1.log after a restart, and so on.
        for (const log of safeReaddir(join(source, pod, container)).filter((file) =>
          /^\d+\.log$/.test(file),
        )) {
          const file = join(source, pod, container, log);
          try {
            const size = statSync(file).size;
            if (sizes.get(file) === size) continue;
            copyFileSync(file, join(kept, `${name}.${log}`));
            sizes.set(file, size);
          } catch {
            // Removed with its Pod between the listing and the copy: the last copy stands.
          }
        }
      }
    }
  };
  const timer = setInterval(copy, 500);
  return {
    stop: () => clearInterval(timer),
    /** The last lines a Pod's containers wrote, every start of them (kept after the Pod is gone), for a failure message. */
    tail(namespace: string, pod: string, lines = 40): string {
      copy();
      const starts = safeReaddir(kept)
        .filter((file) => file.startsWith(`${namespace}_${pod}.`))
        .sort((a, b) => parseInt(a.split('.').at(-2)!, 10) - parseInt(b.split('.').at(-2)!, 10));
      if (starts.length === 0) return `(no log kept for ${namespace}/${pod})`;
      return starts
        .map((file) => {
          const text = readFileSync(join(kept, file), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
          return starts.length > 1 ? `(start ${file.split('.').at(-2)})\n${text}` : text;
        })
        .join('\n');
    },
  };
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
