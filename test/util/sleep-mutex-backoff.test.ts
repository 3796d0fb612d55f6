/** The shared waiting utilities: abortable sleep, the serial mutex, backoff. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, KeyedBackoff } from '../../src/util/backoff.js';
import { SerialMutex } from '../../src/util/mutex.js';
import { ignoreAbort, sleep } from '../../src/util/sleep.js';

describe('sleep', () => {
  it('resolves after the time when not aborted', async () => {
    await expect(sleep(5)).resolves.toBeUndefined();
    await expect(sleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('rejects with the signal reason on abort (already aborted, or during the wait)', async () => {
    const c1 = new AbortController();
    c1.abort(new Error('stop'));
    await expect(sleep(10_000, c1.signal)).rejects.toThrow('stop');
    const c2 = new AbortController();
    const p = sleep(10_000, c2.signal);
    c2.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('ignoreAbort swallows only the abort of its own signal', async () => {
    const c = new AbortController();
    const p = sleep(10_000, c.signal).catch(ignoreAbort(c.signal));
    c.abort();
    await expect(p).resolves.toBeUndefined();
    expect(() => ignoreAbort(c.signal)(new Error('other'))).toThrow('other');
  });
});

describe('SerialMutex', () => {
  it('runs calls one at a time, in call order; a failure reaches only its caller', async () => {
    const m = new SerialMutex();
    const order: string[] = [];
    let running = 0;
    const job = (name: string, ms: number, fail = false) =>
      m.run(async () => {
        running++;
        expect(running).toBe(1);
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a', 15), job('b', 1, true), job('c', 5)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a', 'b', 'c']);
    expect(results[1]!.status).toBe('rejected');
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(m.pending).toBe(0);
    await expect(m.idle()).resolves.toBeUndefined();
  });

  it('accepts synchronous functions, and a synchronous throw does not poison it', async () => {
    const m = new SerialMutex();
    await expect(
      m.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(m.run(() => 42)).resolves.toBe(42);
  });
});

describe('backoff', () => {
  it('doubles from initialMs up to maxMs', () => {
    const p = { initialMs: 500, maxMs: 30_000 };
    expect([1, 2, 3, 4, 7, 8, 100].map((a) => backoffDelay(p, a))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
    expect(backoffDelay(p, 0)).toBe(500);
    expect(backoffDelay({ initialMs: 100, maxMs: 10_000, factor: 3 }, 3)).toBe(900);
  });

  it('KeyedBackoff schedules each key on its own', () => {
    let now = 1_000;
    const b = new KeyedBackoff<string>({ initialMs: 2_000, maxMs: 60_000 }, () => now);
    expect(b.due('x')).toBe(true);
    expect(b.fail('x')).toBe(2_000);
    expect(b.due('x')).toBe(false);
    expect(b.due('y')).toBe(true);
    expect(b.anyDue()).toBe(false);
    now += 2_000;
    expect(b.due('x')).toBe(true);
    expect(b.anyDue()).toBe(true);
    expect(b.fail('x')).toBe(4_000);
    b.succeed('x');
    expect(b.due('x')).toBe(true);
  });
});
