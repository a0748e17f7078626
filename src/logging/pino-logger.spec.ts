import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/controller-config.js';
import { createLogger } from './pino-logger.js';

/** The lines a logger built from `env` writes for one call with fields and one with an error. */
function linesFor(env: NodeJS.ProcessEnv): Record<string, unknown>[] {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger(loadConfig(env), destination);
  logger.info({ namespace: 'team-a', name: 'db', backend: 'vault' }, 'Secret created');
  logger.error({ err: new Error('boom') }, 'shutdown failed');
  logger.flush();
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('log lines', () => {
  it("are KES's by default: message_time, pid, hostname, fields under payload", () => {
    const [line, error] = linesFor({});
    expect(Object.keys(line!)).toEqual(['level', 'message_time', 'pid', 'hostname', 'payload', 'msg']);
    expect(line).toMatchObject({
      level: 30,
      pid: process.pid,
      hostname: hostname(),
      payload: { namespace: 'team-a', name: 'db', backend: 'vault' },
      msg: 'Secret created',
    });
    expect(new Date(line!.message_time as string).toISOString()).toBe(line!.message_time);
    expect(error).toMatchObject({ level: 50, payload: { err: { type: 'Error', message: 'boom' } } });
  });

  it('honour LOG_BASE_PID_KEY, LOG_BASE_HOSTNAME_KEY, LOG_MESSAGE_KEY and USE_HUMAN_READABLE_LOG_LEVELS', () => {
    const [line] = linesFor({
      LOG_BASE_PID_KEY: 'process_id',
      LOG_BASE_HOSTNAME_KEY: 'host',
      LOG_MESSAGE_KEY: 'message',
      USE_HUMAN_READABLE_LOG_LEVELS: 'true',
    });
    expect(Object.keys(line!)).toEqual(['level', 'message_time', 'process_id', 'host', 'payload', 'message']);
    expect(line).toMatchObject({ level: 'info', process_id: process.pid, host: hostname() });
  });

  it('with LOG_FORMAT=flat carry the fields at the top level and the time as time', () => {
    const [line] = linesFor({ LOG_FORMAT: 'flat' });
    expect(Object.keys(line!)).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'namespace',
      'name',
      'backend',
      'msg',
    ]);
  });
});
