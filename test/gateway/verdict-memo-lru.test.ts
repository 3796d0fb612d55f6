import { expect, test } from 'vitest';
import type { ChainVerifier } from '../../src/index.js';
import { createVerdictMemo } from '../../gateway/routes/verify/memo.js';

/**
 * The memo's bound (gateway/routes/verify/memo.ts) drops the least recently
 * SERVED verdict first: a flood of one-off bodies (the same receipt re-spaced,
 * each body its own key) must not push out the verdict a crowd keeps asking
 * for. The chain is a stand-in with a constant stamp: this checks the bound
 * only; test/gateway/verdict-memo.test.ts checks the stamps on a real chain.
 */
test('a verdict served again outlives entries kept after it; the least recently served is dropped', async () => {
  const chain = { verdictStamp: async () => 'stamp' } as unknown as ChainVerifier;
  const memo = createVerdictMemo(chain, () => {}, 3);
  const receipt = { batch: { agency: 'AG', seq: 1, root: `0x${'11'.repeat(32)}`, size: 1 } } as never;
  const keep = (key: string) => memo.keep(key, { body: key, leaf: 'leaf', stamp: 'stamp', receipt });
  keep('popular');
  for (let i = 0; i < 10; i++) {
    expect((await memo.lookup('popular'))?.body).toBe('popular');
    keep(`one-off-${i}`);
  }
  expect((await memo.lookup('popular'))?.body).toBe('popular');
  expect(await memo.lookup('one-off-7')).toBeUndefined();
  expect((await memo.lookup('one-off-9'))?.body).toBe('one-off-9');
});
