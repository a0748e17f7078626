import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { InvalidConfigurationError, loadConfig, type ControllerConfig } from './config/controller-config.js';
import { CrdCheckService } from './kubernetes/crd-check.service.js';
import { createLogger, PinoNestLogger } from './logging/pino-logger.js';
import { SyncService } from './sync/sync.service.js';

async function bootstrap(): Promise<void> {
  let config: ControllerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof InvalidConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config);

  const app = await NestFactory.create(AppModule.forRoot({ config, logger }), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  try {
    await app.get(CrdCheckService).verify();
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    await app.close();
    process.exit(1);
  }
  await app.listen(config.metricsPort, '0.0.0.0');
  await app.get(SyncService).start();
  logger.info({ port: config.metricsPort }, 'kubernetes-external-secrets controller started');

  // Our own signal handling rather than Nest's enableShutdownHooks, which re-raises the signal after closing
  // and so never exits 0. app.close() runs every module's shutdown hooks (stop intake, drain, release).
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
