import type { LoggerService } from '@nestjs/common';
import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ControllerConfig } from '../config/controller-config.js';

/**
 * Builds the process logger: one JSON object per line, KES's line by default:
 * `{"level":30,"message_time":"<ISO time>","pid":1,"hostname":"<host>","payload":{…fields},"msg":"…"}`
 * (LOG_LEVEL, LOG_MESSAGE_KEY, USE_HUMAN_READABLE_LOG_LEVELS, LOG_BASE_PID_KEY, LOG_BASE_HOSTNAME_KEY as
 * KES). LOG_FORMAT=flat writes pino's `time` and the fields at the top level instead.
 */
export function createLogger(config: ControllerConfig, destination?: DestinationStream): Logger {
  const kes = config.logFormat === 'kes';
  return pino(
    {
      level: config.logLevel,
      messageKey: config.logMessageKey,
      base: { [config.logBasePidKey]: process.pid, [config.logBaseHostnameKey]: hostname() },
      timestamp: kes ? () => `,"message_time":"${new Date().toISOString()}"` : pino.stdTimeFunctions.isoTime,
      nestedKey: kes ? 'payload' : undefined,
      formatters: config.humanReadableLogLevels ? { level: (label) => ({ level: label }) } : undefined,
    },
    destination,
  );
}

/** Routes NestJS's own log calls into the pino logger, with the Nest context as a field. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  // Nest's own `log` calls are start-up chatter (modules loaded, routes mapped): debug, not info.
  log(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    this.write('error', message, context ?? stackOrContext);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal',
    message: unknown,
    context?: string,
  ) {
    if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
    } else {
      this.logger[level]({ context }, String(message));
    }
  }
}
