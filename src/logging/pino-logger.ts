import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';
import type { ControllerConfig } from '../config/controller-config.js';

/**
 * Builds the process logger: one JSON object per line, with KES's LOG_LEVEL, LOG_MESSAGE_KEY and
 * USE_HUMAN_READABLE_LOG_LEVELS (level names instead of pino's numbers).
 */
export function createLogger(config: ControllerConfig): Logger {
  return pino({
    level: config.logLevel,
    messageKey: config.logMessageKey,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: config.humanReadableLogLevels ? { level: (label) => ({ level: label }) } : undefined,
  });
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
