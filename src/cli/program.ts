import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { NestFactory } from '@nestjs/core';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../config/controller-config.js';
import { parseDuration } from '../domain/duration.js';
import type { ExternalSecret } from '../domain/external-secret.js';
import { SYNC_REQUEST_ANNOTATION } from '../domain/sync-status.js';
import {
  EXTERNAL_SECRET_GROUP,
  EXTERNAL_SECRET_PLURAL,
  EXTERNAL_SECRET_VERSION,
} from '../kubernetes/kubernetes.constants.js';
import { loadKubeConfig } from '../kubernetes/kube-config.provider.js';
import { CliModule } from './cli.module.js';
import { formatFinding, ManifestValidator } from './manifest-validator.js';
import { SecretRenderer } from './secret-renderer.service.js';
import { renderSecret, secretDiff } from './secret-view.js';
import { formatStatusTable, statusRows } from './status-table.js';

/** Exit codes (README "Command line"). */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

/** Where a command reads and writes: the process's streams in `kes`, buffers in the tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Colour on stdout (a TTY without NO_COLOR). */
  readonly color: boolean;
  readonly readStdin: () => string;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const group = {
  group: EXTERNAL_SECRET_GROUP,
  version: EXTERNAL_SECRET_VERSION,
  plural: EXTERNAL_SECRET_PLURAL,
};

/** `-` is standard input; a file is read as it is. */
function readSource(file: string, io: CliIo): string {
  return file === '-' ? io.readStdin() : readFileSync(file, 'utf8');
}

/** The ExternalSecret documents of a YAML text (other kinds are skipped). */
function externalSecretsIn(text: string): ExternalSecret[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as ExternalSecret & { kind?: string })
    .filter((object) => object?.kind === 'ExternalSecret');
}

/** `--namespace-annotations`: a YAML/JSON file of a Namespace (or of annotations), or `key=value` pairs. */
export function namespaceAnnotationsOf(
  sources: readonly string[] | undefined,
): Record<string, string> | undefined {
  if (!sources || sources.length === 0) return undefined;
  const annotations: Record<string, string> = {};
  for (const source of sources) {
    const pair = /^([^=]+)=(.*)$/s.exec(source);
    if (pair && !source.includes('\n') && !/\.(ya?ml|json)$/.test(source)) {
      annotations[pair[1]!] = pair[2]!;
      continue;
    }
    const parsed = parseAllDocuments(readFileSync(source, 'utf8'))[0]?.toJS() as
      { metadata?: { annotations?: Record<string, string> } } | Record<string, string> | undefined;
    const found =
      (parsed as { metadata?: { annotations?: Record<string, string> } })?.metadata?.annotations ?? parsed;
    Object.assign(annotations, found ?? {});
  }
  return annotations;
}

/** A default-less namespace of the current context, as kubectl picks it. */
function defaultNamespace(config: KubeConfig): string {
  return config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
}

async function listExternalSecrets(
  config: KubeConfig,
  namespace: string | undefined,
): Promise<ExternalSecret[]> {
  const api = config.makeApiClient(CustomObjectsApi);
  const list = (await (namespace
    ? api.listNamespacedCustomObject({ ...group, namespace })
    : api.listClusterCustomObject(group))) as { items: ExternalSecret[] };
  return list.items;
}

/** The controller's normal configuration, from the same environment variables (credentials, endpoints). */
async function withRenderer<T>(io: CliIo, work: (renderer: SecretRenderer) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  // Log lines go to stderr, warnings only: stdout is the Secret.
  const logger = pino({ level: io.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const app = await NestFactory.createApplicationContext(CliModule.forRoot({ config, logger }), {
    logger: false,
    abortOnError: false,
  });
  try {
    return await work(app.get(SecretRenderer));
  } finally {
    await app.close();
  }
}

/** Runs one `kes` command line; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('kes')
    .description(
      'Write and debug kubernetes-client.io/v1 ExternalSecrets with the controller’s own rules. Also `kubectl kes …`.',
    )
    .version(VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('validate')
    .description('check manifests offline: the CRD schema, the controller’s rules, deprecated forms')
    .argument('<files...>', 'YAML files (multi-document), - for stdin')
    .option(
      '--namespace-annotations <source...>',
      'a Namespace file or key=value: also check the role and key policy',
    )
    .addHelpText(
      'after',
      '\nExample:\n  kes validate k8s/*.yaml --namespace-annotations iam.amazonaws.com/permitted=arn:aws:iam::123456789012:role/app-.*',
    )
    .action((files: string[], options: { namespaceAnnotations?: string[] }) => {
      const validator = new ManifestValidator();
      const annotations = namespaceAnnotationsOf(options.namespaceAnnotations);
      const policy = annotations ? { annotations, settings: loadConfig(io.env) } : undefined;
      const findings = files.flatMap((file) =>
        validator.check(file === '-' ? '<stdin>' : file, readSource(file, io), policy),
      );
      for (const finding of findings) io.err(`${formatFinding(finding)}\n`);
      const errors = findings.filter((finding) => finding.severity === 'error').length;
      if (errors > 0) exitCode = EXIT.problems;
      else
        io.out(
          `${files.length} file(s) valid${findings.length ? ` (${findings.length} deprecated form(s))` : ''}\n`,
        );
    });

  program
    .command('render')
    .description('fetch the values with your credentials and print the Secret the controller would write')
    .argument('<file>', 'a YAML file with one or more ExternalSecrets, - for stdin')
    .option('--show-values', 'print the values (base64, as in a Secret) instead of their size and digest')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('-n, --namespace <namespace>', 'the namespace of objects that name none', 'default')
    .option('--namespace-annotations <source...>', 'a Namespace file or key=value: the role and key policy')
    .addHelpText('after', '\nExample:\n  AWS_PROFILE=dev kes render hello-service.yaml --output json')
    .action(
      async (
        file: string,
        options: {
          showValues?: boolean;
          output: 'yaml' | 'json';
          namespace: string;
          namespaceAnnotations?: string[];
        },
      ) => {
        const objects = externalSecretsIn(readSource(file, io));
        await withRenderer(io, async (renderer) => {
          for (const object of objects) {
            object.metadata.namespace ??= options.namespace;
            const result = await renderer.render(
              object,
              namespaceAnnotationsOf(options.namespaceAnnotations),
            );
            if (result.ok)
              io.out(
                `${options.output === 'yaml' && objects.length > 1 ? '---\n' : ''}${renderSecret(result.secret, { showValues: options.showValues === true, output: options.output })}`,
              );
            else {
              io.err(`${object.metadata.namespace}/${object.metadata.name}: ERROR, ${result.message}\n`);
              exitCode = EXIT.problems;
            }
          }
          io.err(`backend calls: ${await renderer.callReport()}\n`);
        });
      },
    );

  program
    .command('diff')
    .description('what applying this ExternalSecret would change in its live Secret (key names and digests)')
    .argument('<file>', 'a YAML file with one or more ExternalSecrets, - for stdin')
    .option('--show-values', 'print the values instead of their size and digest')
    .option('-n, --namespace <namespace>', 'the namespace of objects that name none')
    .addHelpText('after', '\nExample:\n  kes diff hello-service.yaml   # exit 1 when the Secret would change')
    .action(async (file: string, options: { showValues?: boolean; namespace?: string }) => {
      const cluster = loadKubeConfig();
      const core = cluster.makeApiClient(CoreV1Api);
      const objects = externalSecretsIn(readSource(file, io));
      await withRenderer(io, async (renderer) => {
        for (const object of objects) {
          object.metadata.namespace ??= options.namespace ?? defaultNamespace(cluster);
          const { namespace, name } = object.metadata as { namespace: string; name: string };
          const live: V1Secret | undefined = await core
            .readNamespacedSecret({ namespace, name })
            .catch((error: { code?: number }) => {
              if (error.code === 404) return undefined;
              throw error;
            });
          const namespaceObject = await core.readNamespace({ name: namespace }).catch(() => undefined);
          const result = await renderer.render(object, namespaceObject?.metadata?.annotations);
          if (!result.ok) {
            io.err(`${namespace}/${name}: ERROR, ${result.message}\n`);
            exitCode = EXIT.problems;
            continue;
          }
          const lines = secretDiff(live, result.secret, { showValues: options.showValues === true });
          const changed = lines.filter((line) => !line.startsWith('='));
          io.out(
            `Secret ${namespace}/${name}${live ? '' : ' (does not exist yet)'}: ${changed.length === 0 ? 'no change' : `${changed.length} key(s) would change`}\n`,
          );
          for (const line of lines) io.out(`  ${line}\n`);
          if (changed.length > 0) exitCode = EXIT.problems;
        }
      });
    });

  program
    .command('status')
    .description('the ExternalSecrets of the cluster, the broken ones first')
    .option('-n, --namespace <namespace>', 'one namespace (default: the context’s)')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-w, --watch', 'update the table every 2 s until interrupted')
    .option('--fail-on-error', 'exit 1 if any ExternalSecret is not Ready')
    .addHelpText('after', '\nExample:\n  kes status -A --fail-on-error   # a deploy pipeline’s gate')
    .action(
      async (options: {
        namespace?: string;
        allNamespaces?: boolean;
        watch?: boolean;
        failOnError?: boolean;
      }) => {
        const cluster = loadKubeConfig();
        const namespace = options.allNamespaces
          ? undefined
          : (options.namespace ?? defaultNamespace(cluster));
        let previous = '';
        for (;;) {
          const rows = statusRows(await listExternalSecrets(cluster, namespace), new Date());
          const table =
            rows.length === 0
              ? `No ExternalSecrets${namespace ? ` in ${namespace}` : ''}.\n`
              : formatStatusTable(rows, { color: io.color });
          if (!options.watch) {
            io.out(table);
            if (options.failOnError && rows.some((row) => row.ready !== 'True')) exitCode = EXIT.problems;
            return;
          }
          // In place on a terminal; elsewhere (a log, a pipe) one table per change.
          if (table !== previous) io.out(io.color ? `\u001b[H\u001b[2J${table}` : `${table}\n`);
          previous = table;
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      },
    );

  program
    .command('sync')
    .description('sync now (a fresh read), wait for the controller’s answer and print its Ready condition')
    .argument('[name]', 'the ExternalSecret')
    .option('-n, --namespace <namespace>', 'its namespace (default: the context’s)')
    .option('--all', 'every ExternalSecret of the namespace (with -A: of the cluster)')
    .option('-A, --all-namespaces', 'with --all: every namespace')
    .option('--timeout <duration>', 'how long to wait for the answer', '60s')
    .addHelpText('after', '\nExample:\n  kes sync hello-service -n apps --timeout 30s')
    .action(
      async (
        name: string | undefined,
        options: { namespace?: string; all?: boolean; allNamespaces?: boolean; timeout: string },
      ) => {
        const timeoutMs = parseDuration(options.timeout);
        if (!timeoutMs)
          throw new CommanderError(EXIT.usage, 'kes.usage', `--timeout ${options.timeout} is not a duration`);
        if (!name && !options.all)
          throw new CommanderError(EXIT.usage, 'kes.usage', 'name an ExternalSecret, or give --all');
        const cluster = loadKubeConfig();
        const api = cluster.makeApiClient(CustomObjectsApi);
        const namespace = options.allNamespaces
          ? undefined
          : (options.namespace ?? defaultNamespace(cluster));
        const targets = name
          ? [{ namespace: namespace ?? defaultNamespace(cluster), name }]
          : (await listExternalSecrets(cluster, namespace)).map((object) => ({
              namespace: object.metadata.namespace!,
              name: object.metadata.name!,
            }));
        const request = `${new Date().toISOString()}/${randomBytes(3).toString('hex')}`;
        for (const target of targets) {
          await api.patchNamespacedCustomObject(
            {
              ...group,
              ...target,
              body: { metadata: { annotations: { [SYNC_REQUEST_ANNOTATION]: request } } },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        }
        const deadline = Date.now() + timeoutMs;
        const pending = new Map(targets.map((target) => [`${target.namespace}/${target.name}`, target]));
        while (pending.size > 0 && Date.now() < deadline) {
          for (const [key, target] of pending) {
            const object = (await api.getNamespacedCustomObject({ ...group, ...target })) as ExternalSecret;
            if (object.status?.syncRequest !== request) continue;
            pending.delete(key);
            const ready = object.status.conditions?.find((condition) => condition.type === 'Ready');
            io.out(
              `${key}: Ready ${ready?.status ?? 'Unknown'} ${ready?.reason ?? ''}: ${ready?.message ?? ''}\n`,
            );
            if (ready?.status !== 'True') exitCode = EXIT.problems;
          }
          if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 250));
        }
        for (const key of pending.keys()) {
          io.err(
            `${key}: no answer from the controller within ${options.timeout} (is it running, and does it watch this namespace?)\n`,
          );
          exitCode = EXIT.problems;
        }
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0; commander has printed its own errors.
      if (error.code.startsWith('kes.')) io.err(`kes: ${error.message}\n`);
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.err(`kes: ${(error as Error).message}\n`);
    return EXIT.problems;
  }
}
