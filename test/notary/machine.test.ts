/** The notary's state machine, table by table (`notaryTransition`). */
import { describe, expect, it } from 'vitest';
import type { TxStatus } from '../../src/chain/outbox.js';
import type { NotaryDecision } from '../../src/notary/log.js';
import { notaryTransition, type NotaryFacts } from '../../src/notary/machine.js';

const batch = {
  agency: '0x' + '11'.repeat(32),
  agencyCode: 'JN-CG',
  seq: 2,
  root: '0x' + '22'.repeat(32),
  size: 4,
  prevRoot: '0x' + '33'.repeat(32),
  firstCapturedAt: 1,
  lastCapturedAt: 2,
  anchoredAt: 3,
  blockNumber: 9,
};
const common = { chainId: 31337, registry: '0x' + '44'.repeat(20), batch, decidedAt: 't', updatedAt: 't' };
const attestation = { attestedAt: 5, signature: '0x' + '55'.repeat(65), digest: '0x' + '66'.repeat(32) };
const tx = { hash: '0x' + '77'.repeat(32), nonce: 0, raw: '0x02', signedAt: 't' };
const d = {
  signed: { ...common, status: 'signed', attestation },
  submitted: { ...common, status: 'submitted', attestation, tx },
  cosigned: { ...common, status: 'cosigned', attestation, tx, cosigned: { attestedAt: 5 } },
  cosignedByOthers: { ...common, status: 'cosigned', cosigned: { attestedAt: 5 } },
  refused: { ...common, status: 'refused', refusal: { reason: 'SEQ_GAP', message: 'm', details: {}, code: 'NOTARY_POLICY' } },
} satisfies Record<string, NotaryDecision>;
const f = (x: Partial<NotaryFacts> = {}): NotaryFacts => ({ onChainAttestedAt: 0, anchored: true, submit: true, ...x });
const t = (kind: TxStatus['kind']): TxStatus =>
  kind === 'gap' ? { kind, next: 0 } : kind === 'mined' ? { kind, blockNumber: 1, blockHash: '0x' } : kind === 'reverted' ? { kind, blockNumber: 1 } : { kind };

describe('notaryTransition', () => {
  it.each([
    ['no decision, nothing on chain', undefined, f(), 'evaluate'],
    ['no decision, co-signed on chain (by other means)', undefined, f({ onChainAttestedAt: 7 }), 'record-cosigned'],
    ['refused', d.refused, f(), 'report-refused'],
    ['refused, whatever the chain says', d.refused, f({ onChainAttestedAt: 7 }), 'report-refused'],
    ['signed, on chain', d.signed, f({ onChainAttestedAt: 5 }), 'record-cosigned'],
    ['signed, relayer mode', d.signed, f({ submit: false }), 'report-signed'],
    ['signed, batch not anchored now', d.signed, f({ anchored: false }), 'wait-not-anchored'],
    ['signed → send', d.signed, f(), 'send'],
    ['submitted, tx unmined → rebroadcast the same bytes', d.submitted, f({ tx: t('unmined') }), 'rebroadcast'],
    ['submitted, tx mined without effect → send anew', d.submitted, f({ tx: t('mined') }), 'send'],
    ['submitted, tx reverted → send anew', d.submitted, f({ tx: t('reverted') }), 'send'],
    ['submitted, nonce taken → send anew', d.submitted, f({ tx: t('replaced') }), 'send'],
    ['submitted, beyond a nonce gap → send anew', d.submitted, f({ tx: t('gap') }), 'send'],
    ['submitted, on chain', d.submitted, f({ onChainAttestedAt: 5, tx: t('mined') }), 'record-cosigned'],
    ['cosigned, still on chain', d.cosigned, f({ onChainAttestedAt: 5 }), 'skip'],
    ['cosigned, batch lost too (the anchorer re-anchors it)', d.cosigned, f({ anchored: false }), 'wait-not-anchored'],
  ] as const)('%s → %s', (_n, dec, facts, action) => {
    expect(notaryTransition(dec, facts).type).toBe(action);
  });

  it('cosigned but lost on chain (rollback): re-co-sign with the logged attestation when the registry still accepts it', () => {
    expect(notaryTransition(d.cosigned, f({ loggedAttestationAccepted: true }))).toEqual({ type: 'recosign', reuse: true });
  });
  it('… otherwise a fresh attestation over the same batch facts', () => {
    expect(notaryTransition(d.cosigned, f({ loggedAttestationAccepted: false }))).toEqual({ type: 'recosign', reuse: false });
    expect(notaryTransition(d.cosignedByOthers, f({ loggedAttestationAccepted: true }))).toEqual({ type: 'recosign', reuse: false });
  });
});

describe('the log validates what it reads back', () => {
  it('a decision that is not one of the four shapes is JOURNAL_CORRUPT, naming the key', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Level } = await import('level');
    const { NotaryLog, LogKeys } = await import('../../src/notary/log.js');
    const dir = mkdtempSync(join(tmpdir(), 'liuhen-notary-log-'));
    try {
      const notary = '0x' + '88'.repeat(20);
      await (await NotaryLog.open(dir, notary)).close();
      const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
      await db.put(LogKeys.decision('31337:0xreg', batch.agency, batch.root), JSON.stringify({ ...d.submitted, tx: undefined }));
      await db.close();
      const log = await NotaryLog.open(dir, notary);
      try {
        await expect(log.decision('31337:0xreg', batch.agency, batch.root)).rejects.toMatchObject({
          code: 'JOURNAL_CORRUPT',
          message: expect.stringContaining('tx'),
        });
        await expect(log.decisions()).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
      } finally {
        await log.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the log migrates format 1 (decisions keyed by root alone) at open', () => {
  it('old dec:/out:/ref: keys move under the agency of their decision, in one batch; the format becomes /2', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Level } = await import('level');
    const { NotaryLog, NOTARY_LOG_FORMAT } = await import('../../src/notary/log.js');
    const dir = mkdtempSync(join(tmpdir(), 'liuhen-notary-log-v1-'));
    const dom = '31337:0x' + '44'.repeat(20);
    const refusedBatch = { ...batch, seq: 3, root: '0x' + '99'.repeat(32) };
    try {
      const notary = '0x' + '88'.repeat(20);
      // A format-1 log as the old code wrote it.
      const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
      await db.batch([
        { type: 'put', key: 'meta', value: JSON.stringify({ format: 'liuhen-notary-log/1', notary, createdAt: 't' }) },
        { type: 'put', key: `att:${dom}:${batch.agency}:${'2'.padStart(20, '0')}`, value: JSON.stringify({ root: batch.root, attestedAt: 5 }) },
        { type: 'put', key: `dec:${dom}:${batch.root}`, value: JSON.stringify(d.signed) },
        { type: 'put', key: `out:${dom}:${batch.root}`, value: '' },
        { type: 'put', key: `dec:${dom}:${refusedBatch.root}`, value: JSON.stringify({ ...d.refused, batch: refusedBatch }) },
        { type: 'put', key: `ref:${dom}:${refusedBatch.root}`, value: '' },
      ]);
      await db.close();

      let log = await NotaryLog.open(dir, notary);
      try {
        expect(await log.decision(dom, batch.agency, batch.root)).toEqual(d.signed);
        expect((await log.outbox(dom)).map((x) => x.batch.root)).toEqual([batch.root]);
        expect((await log.refusals(dom)).map((x) => x.batch.root)).toEqual([refusedBatch.root]);
        expect((await log.decisions(dom)).length).toBe(2);
        // Another agency's copy of the root has no decision.
        expect(await log.decision(dom, '0x' + 'aa'.repeat(32), batch.root)).toBeUndefined();
        expect(await log.slot(dom, batch.agency, 2)).toEqual({ root: batch.root, attestedAt: 5 });
      } finally {
        await log.close();
      }
      const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' });
      const keys: string[] = [];
      for await (const k of raw.keys()) keys.push(k);
      expect(JSON.parse((await raw.get('meta'))!).format).toBe(NOTARY_LOG_FORMAT);
      await raw.close();
      expect(keys.filter((k) => /^(dec|out|ref):/.test(k)).every((k) => k.split(':').length === 5)).toBe(true);
      // Opening again (already /2) changes nothing.
      log = await NotaryLog.open(dir, notary);
      expect((await log.decisions(dom)).length).toBe(2);
      await log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
