/**
 * Issue 9.1: a withheld record (`record: null`) with a file or a SHA-256
 * given must never verify — through the SDK, the CLI (exit 3, not 0) and the
 * gateway (POST /v1/verify, JSON and multipart) alike. And a policy judged on
 * the receipt's own anchor time (no chain consulted, or the chain could not
 * confirm the anchor) is pending, not passed — in the SDK and in the public
 * verdict (GET /v1/verify/:leaf).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { redactReceipt, verifyReceipt, type Receipt } from '../../src/index.js';
import { startWorld, type World } from './world.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
}, 120_000);
afterAll(async () => {
  await w?.close();
});

const foreign = new TextEncoder().encode('a file that was never recorded');

describe('withheld record + content → incomplete, never verified', () => {
  test('control: the full receipt with its own file verifies everywhere', async () => {
    const s = { receipt: w.a.receipt, file: w.a.bytes };
    expect((await w.sdk(s)).status).toBe('verified');
    expect((await w.gatewayJson(s)).status).toBe('verified');
    expect((await w.gatewayMultipart(s)).status).toBe('verified');
    expect(await w.cli(s)).toMatchObject({ exit: 0, status: 'verified' });
  });

  test('SDK: a foreign file or a foreign sha256 with the record withheld → content pending CONTENT_RECORD_WITHHELD, incomplete', async () => {
    const receipt = redactReceipt(w.a.receipt);
    for (const s of [
      { receipt, file: foreign },
      { receipt, sha256: 'ab'.repeat(32) },
      { receipt, file: w.a.bytes },
    ]) {
      const o = await w.sdk(s);
      expect(o.status).toBe('incomplete');
      expect(o.codes.content).toBe('pending:CONTENT_RECORD_WITHHELD');
    }
    // Without content the redacted receipt still verifies: it proves the leaf was anchored and notarized (public disclosure).
    expect((await w.sdk({ receipt })).status).toBe('verified');
  });

  test('CLI: `liuhen verify FOREIGN --receipt WITHHELD` exits 3 (incomplete), not 0', async () => {
    const o = await w.cli({ receipt: redactReceipt(w.a.receipt), file: foreign });
    expect(o).toMatchObject({ exit: 3, status: 'incomplete' });
    expect(o.codes.content).toBe('pending:CONTENT_RECORD_WITHHELD');
  });

  test('gateway: POST /v1/verify (JSON sha256, multipart file, multipart sha256) → incomplete', async () => {
    const receipt = redactReceipt(w.a.receipt);
    for (const o of [
      await w.gatewayJson({ receipt, file: foreign }),
      await w.gatewayMultipart({ receipt, file: foreign }),
      await w.gatewayMultipart({ receipt, sha256: 'cd'.repeat(32) }),
    ]) {
      expect(o.status).toBe('incomplete');
      expect(o.codes.content).toBe('pending:CONTENT_RECORD_WITHHELD');
    }
  });
});

test('SDK: a device registry given with the record withheld → signature pending SIGNATURE_RECORD_WITHHELD, never verified', async () => {
  const key = w.a.receipt.record!.sig!.key;
  const v = await verifyReceipt({ receipt: redactReceipt(w.a.receipt), trustedDeviceKeys: { [w.a.receipt.record!.device]: [key] } });
  expect(v.checks.find((c) => c.name === 'signature')).toMatchObject({ status: 'pending', code: 'SIGNATURE_RECORD_WITHHELD' });
  expect(v.status).toBe('incomplete');
});

describe('a policy on an unchecked anchor time is pending', () => {
  test('SDK without a chain: policy pending POLICY_ANCHOR_UNPROVEN (the receipt states a time nobody checked)', async () => {
    const v = await verifyReceipt({ receipt: w.a.receipt, content: { sha256: w.a.sha256 } });
    expect(v.status).toBe('incomplete');
    expect(v.checks.find((c) => c.name === 'policy')).toMatchObject({ status: 'pending', code: 'POLICY_ANCHOR_UNPROVEN' });
  });

  test("SDK: a forged anchor.timestamp cannot make a late record timely — the chain's time is judged", async () => {
    const r: Receipt = structuredClone(w.a.receipt);
    const captured = Math.floor(Date.parse(r.record!.capturedAt) / 1000);
    // A 10-hour anchoring delay is a finding; the policy must see the chain's time, not a claim.
    const v = await verifyReceipt({
      receipt: r,
      content: { sha256: w.a.sha256 },
      chain: {
        checkAnchor: async () => ({ status: 'pass', code: 'ANCHOR_VALID', detail: 'test', anchoredAt: captured + 36_000 }),
        checkNotary: async () => ({ status: 'pass', code: 'NOTARY_VALID', detail: 'test' }),
      },
    });
    expect(v.checks.find((c) => c.name === 'policy')).toMatchObject({ status: 'warn', code: 'POLICY_ANCHORED_LATE' });
  });

  test('GET /v1/verify/:leaf: while the chain cannot confirm the anchor, the policy is pending, not timely', async () => {
    // Last test of the file: it stops the world's chain.
    await w.anvil.stop();
    const p = await (await w.gateway.call(`/v1/verify/${w.a.leaf}`)).json();
    // The adapter still knows the anchor (final and notarized), the chain does not answer: nothing is proven now.
    expect(p.status).toBe('incomplete');
    expect(p.checks.find((c: { name: string }) => c.name === 'anchor')).toMatchObject({ status: 'pending', code: 'CHAIN_UNREACHABLE' });
    expect(p.checks.find((c: { name: string }) => c.name === 'policy')).toMatchObject({ status: 'pending', code: 'POLICY_ANCHOR_UNPROVEN' });
  });
});
