import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, withinDeadline } from './deadline.js';

const after = <T>(ms: number, settle: () => T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(settle()), ms));

describe('withinDeadline', () => {
  it('passes on an answer that comes in time', async () => {
    await expect(
      withinDeadline(
        200,
        after(5, () => 'lease'),
      ),
    ).resolves.toBe('lease');
  });

  it('passes on a failure that comes in time', async () => {
    const refused = Promise.reject(new Error('ECONNREFUSED'));
    await expect(withinDeadline(200, refused)).rejects.toThrow('ECONNREFUSED');
  });

  it('fails at the deadline when the call never settles', async () => {
    const started = Date.now();
    const hanging = new Promise<never>(() => undefined);
    const failure = await withinDeadline(50, hanging).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeadlineExceededError);
    expect((failure as Error).message).toBe('no answer within 50 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('leaves no unhandled rejection when the call fails after its deadline', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('late')), 30));
      await expect(withinDeadline(5, late)).rejects.toBeInstanceOf(DeadlineExceededError);
      await after(60, () => undefined);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
