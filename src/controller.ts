import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { InvalidConfigurationError, loadConfig, type ControllerConfig } from './config/controller-config.js';
import { CONTROLLER_NAME } from './domain/controller-name.js';
import { CrdCheckService } from './kubernetes/crd-check.service.js';
import { installProcessGuards, setFatalLogger } from './lifecycle/process-guards.js';
import { closeOnShutdownSignal, installShutdownSignals } from './lifecycle/shutdown-signals.js';
import { createLogger, PinoNestLogger } from './logging/pino-logger.js';
import { SyncService } from './sync/sync.service.js';

export type ExtensionModule = Type<unknown> | DynamicModule;

export interface RunControllerOptions {
  /** NestJS modules loaded beside the built-in ones, e.g. a team's own secret backend. */
  readonly extensions?: readonly ExtensionModule[];
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs the controller: validates the configuration (exit 1 listing every problem), builds the NestJS
 * application with any extension modules, checks the CRD (exit 1 if missing), serves the probes and metrics,
 * starts watching, and shuts down gracefully on SIGTERM/SIGINT (exit 0). An unhandled rejection or uncaught
 * exception ends the process with a fatal log line and exit 1.
 */
export async function runController({
  extensions = [],
  env = process.env,
}: RunControllerOptions = {}): Promise<void> {
  installProcessGuards();
  installShutdownSignals();
  let config: ControllerConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof InvalidConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);
  setFatalLogger(logger);
  const modules = [...extensions, ...(await loadExtensionModules(env.EXTENSION_MODULES))];

  const app = await NestFactory.create(AppModule.forRoot({ config, logger, extensions: modules }), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  closeOnShutdownSignal(() => app.close(), config.shutdownTimeoutMs, logger);

  try {
    await app.get(CrdCheckService).verify();
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    await app.close();
    process.exit(1);
  }
  await app.listen(config.metricsPort, '0.0.0.0');
  await app.get(SyncService).start();
  logger.info(
    { port: config.metricsPort, extensions: modules.length },
    `${CONTROLLER_NAME} controller started`,
  );
}

/**
 * EXTENSION_MODULES: comma-separated JavaScript module files, each exporting a NestJS module as `default` or
 * `ExtensionModule`; this is how a team adds a backend to the released image without rebuilding it.
 */
async function loadExtensionModules(list: string | undefined): Promise<ExtensionModule[]> {
  const files = (list ?? '')
    .split(',')
    .map((file) => file.trim())
    .filter(Boolean);
  const modules: ExtensionModule[] = [];
  for (const file of files) {
    const url = pathToFileURL(isAbsolute(file) ? file : resolve(file)).href;
    const exported = (await import(url)) as { default?: ExtensionModule; ExtensionModule?: ExtensionModule };
    const module = exported.default ?? exported.ExtensionModule;
    if (!module) throw new Error(`extension ${file} exports neither default nor ExtensionModule`);
    modules.push(module);
  }
  return modules;
}
