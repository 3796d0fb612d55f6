/**
 * Issue 11 goal 3, the real-time seal policy of `Anchorer.run`: besides N
 * records or T seconds, records that waited `sealMinSeconds` are sealed as
 * soon as every earlier batch is anchored (the chain is idle); while a batch
 * is still on its way, records keep gathering (up to T) — gas per record
 * stays bounded. No chain needed: `sealDue` reads only the journal.
 */
import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { createAnchorer } from '../../src/chain/anchorer.js';
import { DeviceKey } from '../../src/record/device-key.js';
import { withJournal } from '../helpers/journal.js';

const key = DeviceKey.generate();
// Captured a minute ahead (within the journal's skew): the wait then counts from when sealDue first saw the record, not from
// the capture time, so the test does not depend on how fast a loaded machine appends.
const draft = () => ({
  agency: 'AG-1',
  device: 'cam-1',
  officer: 'O-7',
  kind: 'event' as const,
  body: { e: 'x' },
  capturedAt: new Date(Date.now() + 60_000).toISOString(),
});
const config = (maxSeconds: number) =>
  ({
    agency: 'AG-1',
    chain: { rpc: 'http://127.0.0.1:9', chainId: 31337, registry: `0x${'11'.repeat(20)}`, confirmations: 0, deployBlock: 0 },
    seal: { maxRecords: 1000, maxSeconds },
  }) as never;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('real-time sealing', () => {
  it('seals after sealMinSeconds while the chain is idle, and waits (up to T) while a batch is on its way', async () => {
    await withJournal(async (j) => {
      const anchorer = createAnchorer({ journal: j, config: config(60), signer: Wallet.createRandom(), sealMinSeconds: 0.3 });
      try {
        await j.append(draft(), key);
        expect(await anchorer.sealDue()).toEqual([]); // just arrived
        await pause(400);
        const [first] = await anchorer.sealDue(); // idle chain: sealed after 0.3 s, not 60 s
        expect(first).toMatchObject({ seq: 1, size: 1 });

        await j.append(draft(), key);
        await pause(400);
        expect(await anchorer.sealDue()).toEqual([]); // batch 1 not anchored yet: keep gathering
      } finally {
        anchorer.close();
      }
    });
  });

  it('sealMinSeconds 0 keeps the plain N-or-T policy', async () => {
    await withJournal(async (j) => {
      const anchorer = createAnchorer({ journal: j, config: config(60), signer: Wallet.createRandom(), sealMinSeconds: 0 });
      try {
        await j.append(draft(), key);
        await pause(400);
        expect(await anchorer.sealDue()).toEqual([]);
      } finally {
        anchorer.close();
      }
    });
  });
});
