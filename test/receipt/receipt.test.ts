import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { DeviceKey } from '../../src/record/device-key.js';
import { parseReceipt, serializeReceipt, type Receipt } from '../../src/receipt/format.js';
import { receiptFromJournal, redactReceipt } from '../../src/receipt/build.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { hashFile } from '../../src/hash/stream.js';
import { tempDir } from '../helpers/tmp.js';

let receipt: Receipt;
let lastReceipt: Receipt;
let file: string;
let t: ReturnType<typeof tempDir>;

beforeAll(async () => {
  t = tempDir();
  const j = await Journal.open(join(t.dir, 'journal'));
  const key = DeviceKey.generate();
  file = join(t.dir, 'clip.mp4');
  writeFileSync(file, Buffer.alloc(100_000, 7));
  const { sha256, size } = await hashFile(file);
  const ids: string[] = [];
  for (let i = 0; i < 11; i++) {
    const media = i === 6 ? { type: 'video/mp4', size, sha256 } : { type: 'image/jpeg', size: i, sha256: `${i}`.padStart(64, '0') };
    ids.push(
      (
        await j.append(
          { agency: 'JN-CG', device: 'cam-1', officer: 'O-1', kind: i === 6 ? 'video' : 'photo', media, capturedAt: '2026-11-27T09:30:00+08:00' },
          key,
        )
      ).record.id,
    );
  }
  await j.seal('JN-CG');
  receipt = await receiptFromJournal(j, ids[6]!);
  lastReceipt = await receiptFromJournal(j, ids[10]!);
  await j.close();
});
afterAll(() => t.cleanup());

const failing = (v: Awaited<ReturnType<typeof verifyReceipt>>) => v.checks.filter((c) => c.status === 'fail').map((c) => c.name);

describe('receipt format', () => {
  it('has exactly the documented shape', () => {
    expect(Object.keys(receipt)).toEqual(['format', 'record', 'leaf', 'inclusion', 'batch', 'anchor', 'attestations']);
    expect(receipt).toMatchObject({
      format: 'liuhen-receipt/1',
      inclusion: { index: 6, size: 11 },
      batch: { agency: 'JN-CG', seq: 1, size: 11 },
      anchor: null,
      attestations: [],
    });
    expect(receipt.inclusion.path).toHaveLength(4);
    expect(receipt.leaf).toMatch(/^0x[0-9a-f]{64}$/);
    expect(receipt.record!.media!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('round-trips through its text', () => expect(parseReceipt(serializeReceipt(receipt))).toEqual(receipt));

  const text = () => serializeReceipt(receipt);
  const refusals: Array<[string, () => unknown, string, RegExp?]> = [
    ['unknown format', () => ({ ...receipt, format: 'liuhen-receipt/9' }), 'RECEIPT_FORMAT_UNKNOWN'],
    ['trailing garbage', () => `${text()}garbage`, 'INVALID_RECEIPT', /not valid JSON/],
    ['truncation', () => text().slice(0, -20), 'INVALID_RECEIPT'],
    ['index >= size', () => ({ ...receipt, inclusion: { ...receipt.inclusion, index: 11 } }), 'INVALID_RECEIPT', /index 11 must be below size 11/],
    [
      'path too short',
      () => ({ ...receipt, inclusion: { ...receipt.inclusion, path: receipt.inclusion.path.slice(1) } }),
      'INVALID_RECEIPT',
      /wrong proof size 3, want 4/,
    ],
    [
      'path element of wrong length',
      () => ({ ...receipt, inclusion: { ...receipt.inclusion, path: [receipt.inclusion.path[0]!.slice(0, 64), ...receipt.inclusion.path.slice(1)] } }),
      'INVALID_RECEIPT',
      /inclusion.path.0/,
    ],
    ['absurd path', () => ({ ...receipt, inclusion: { ...receipt.inclusion, path: Array(5000).fill(receipt.leaf) } }), 'INVALID_RECEIPT'],
    ['leaf of wrong length', () => ({ ...receipt, leaf: `${receipt.leaf}00` }), 'INVALID_RECEIPT', /leaf/],
    [
      'uppercase root',
      () => ({ ...receipt, batch: { ...receipt.batch, root: receipt.batch.root.toUpperCase().replace('0X', '0x') } }),
      'INVALID_RECEIPT',
      /batch.root/,
    ],
    ['unknown key', () => ({ ...receipt, extra: true }), 'INVALID_RECEIPT', /Unrecognized key/],
    ['__proto__', () => `{"__proto__":{"polluted":1},${text().slice(1)}`, 'INVALID_RECEIPT'],
    ['inclusion size ≠ batch size', () => ({ ...receipt, inclusion: { ...receipt.inclusion, size: 12 } }), 'INVALID_RECEIPT', /differs from batch size/],
    ['huge input', () => ' '.repeat(300_000), 'INVALID_RECEIPT', /more than/],
  ];
  for (const [name, make, code, msg] of refusals) {
    it(`refuses ${name} with ${code}`, () => {
      const input = make();
      expect(() => parseReceipt(input)).toThrow(expect.objectContaining({ code }));
      if (msg) expect(() => parseReceipt(input)).toThrow(msg);
    });
  }
  it('does not pollute prototypes', () => {
    try {
      parseReceipt(`{"__proto__":{"polluted":1},${text().slice(1)}`);
    } catch {
      /* refused */
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('verification pipeline (offline)', () => {
  it('the untouched receipt passes every offline check and is incomplete until anchored', async () => {
    const v = await verifyReceipt({ receipt: serializeReceipt(receipt), content: { path: file } });
    expect(v.checks.map((c) => [c.name, c.status])).toEqual([
      ['format', 'pass'],
      ['content', 'pass'],
      ['signature', 'pass'],
      ['leaf', 'pass'],
      ['inclusion', 'pass'],
      ['anchor', 'pending'],
      ['notary', 'pending'],
      ['policy', 'skipped'],
    ]);
    expect(v.status).toBe('incomplete');
  });

  it('a changed file fails the content check', async () => {
    const other = join(t.dir, 'other.mp4');
    const bytes = Buffer.alloc(100_000, 7);
    bytes[50_000] ^= 1;
    writeFileSync(other, bytes);
    const v = await verifyReceipt({ receipt, content: { path: other } });
    expect(failing(v)).toEqual(['content']);
    expect(v.checks.find((c) => c.name === 'content')?.code).toBe('CONTENT_MISMATCH');
  });

  // Every field of the receipt, mutated one at a time: each must be caught, and by the right check.
  const mutate = (f: (r: Receipt) => void): Receipt => {
    const r = structuredClone(receipt);
    f(r);
    return r;
  };
  const flip = (hex: string, nibble = 10) => hex.slice(0, nibble) + (hex[nibble] === '0' ? '1' : '0') + hex.slice(nibble + 1);
  const cases: Array<[string, (r: Receipt) => void, string[]]> = [
    [
      'record.officer',
      (r) => {
        r.record!.officer = '37019999';
      },
      ['signature', 'leaf', 'inclusion'],
    ],
    [
      'record.capturedAt',
      (r) => {
        r.record!.capturedAt = '2026-11-27T09:31:00+08:00';
      },
      ['signature', 'leaf', 'inclusion'],
    ],
    [
      'record.seq',
      (r) => {
        r.record!.seq = 2;
        r.record!.prev = r.leaf;
      },
      ['signature', 'leaf', 'inclusion'],
    ],
    [
      'record.salt',
      (r) => {
        r.record!.salt = flip(r.record!.salt);
      },
      ['signature', 'leaf', 'inclusion'],
    ],
    [
      'record.media.sha256',
      (r) => {
        r.record!.media!.sha256 = flip(r.record!.media!.sha256, 5);
      },
      ['content', 'signature', 'leaf', 'inclusion'],
    ],
    [
      'record.media.size',
      (r) => {
        r.record!.media!.size += 1;
      },
      ['content', 'signature', 'leaf', 'inclusion'],
    ],
    [
      'record.sig.value',
      (r) => {
        r.record!.sig!.value = flip(r.record!.sig!.value);
      },
      ['signature', 'leaf', 'inclusion'],
    ],
    [
      'leaf',
      (r) => {
        r.leaf = flip(r.leaf) as `0x${string}`;
      },
      ['leaf'],
    ],
    [
      'root',
      (r) => {
        r.batch.root = flip(r.batch.root) as `0x${string}`;
      },
      ['inclusion'],
    ],
    ...[0, 1, 2, 3].map((i): [string, (r: Receipt) => void, string[]] => [
      `path[${i}]`,
      (r) => {
        r.inclusion.path[i] = flip(r.inclusion.path[i]!) as `0x${string}`;
      },
      ['inclusion'],
    ]),
    [
      'path elements swapped',
      (r) => {
        const p = r.inclusion.path;
        [p[0], p[1]] = [p[1]!, p[0]!];
      },
      ['inclusion'],
    ],
    [
      'index + 1',
      (r) => {
        r.inclusion.index += 1;
      },
      ['inclusion'],
    ],
    [
      'index - 1',
      (r) => {
        r.inclusion.index -= 1;
      },
      ['inclusion'],
    ],
    [
      'batch.agency',
      (r) => {
        r.batch.agency = 'JN-XX';
      },
      ['format'],
    ],
    [
      'inclusion.size only',
      (r) => {
        r.inclusion.size -= 1;
      },
      ['format'],
    ],
  ];
  for (const [name, f, expected] of cases) {
    it(`mutating ${name} fails ${expected.join(', ')}`, async () => {
      const v = await verifyReceipt({ receipt: mutate(f), content: { path: file } });
      expect(v.status).toBe('failed');
      expect(failing(v)).toEqual(expected);
    });
  }

  // An RFC 6962 inclusion proof does not bind the tree size for a leaf in the
  // left, complete part of the tree (index 6 verifies identically at sizes 10,
  // 11 and 12). The size is bound by the anchor (the registry stores it with the
  // root) and by the notaries' EIP-712 signatures; offline, a changed size is
  // caught offline where it changes the proof's shape (the right border): the
  // parser refuses a path of the wrong length.
  it('size ± 1 is caught offline on the right border of the tree', async () => {
    expect(lastReceipt.inclusion.index).toBe(10);
    for (const [d, check] of [
      [1, 'format'],
      [-1, 'format'],
    ] as const) {
      const r = structuredClone(lastReceipt);
      r.inclusion.size += d;
      r.batch.size += d;
      expect(failing(await verifyReceipt({ receipt: r }))).toEqual([check]);
    }
    // And for index 6 the offline verdict never says verified (the anchor check decides).
    const r = structuredClone(receipt);
    r.inclusion.size += 1;
    r.batch.size += 1;
    expect((await verifyReceipt({ receipt: r })).status).not.toBe('verified');
  });

  it('every single bit flip in the receipt text is refused or fails a check', async () => {
    const base = serializeReceipt(receipt);
    const bytes = Buffer.from(base);
    const batchAt = base.indexOf('"batch"');
    const span = (key: string): [number, number] => {
      const from = base.indexOf(`"${key}": `, batchAt);
      return [from, base.indexOf('\n', from)];
    };
    const chainOnly = [span('seq'), span('prevRoot')];
    let caught = 0;
    // Flip one bit in every 7th byte (≈ 300 positions across all fields).
    for (let i = 0; i < bytes.length; i += 7) {
      const b = Buffer.from(bytes);
      b[i] ^= 0x01;
      const v = await verifyReceipt({ receipt: b.toString('latin1'), content: { path: file } });
      if (v.status === 'failed') caught++;
      else {
        // Offline, only whitespace may change harmlessly (JSON formatting is not hashed), and
        // batch.seq / batch.prevRoot, which only the anchor check (on chain) can vouch for.
        const harmless =
          /\s/.test(String.fromCharCode(bytes[i]!)) || /\s/.test(String.fromCharCode(b[i]!)) || chainOnly.some(([from, to]) => i >= from && i < to);
        expect(harmless, `flip at ${i} (${JSON.stringify(base.slice(i - 10, i + 10))}) passed`).toBe(true);
        expect(v.status).toBe('incomplete');
      }
    }
    expect(caught).toBeGreaterThan(200);
  });

  it('a leaf-only (redacted) receipt still proves inclusion without the record', async () => {
    const v = await verifyReceipt({ receipt: redactReceipt(receipt) });
    expect(v.checks.find((c) => c.name === 'inclusion')?.status).toBe('pass');
    expect(v.checks.find((c) => c.name === 'signature')?.status).toBe('skipped');
  });

  it('untrusted device keys are named', async () => {
    const v = await verifyReceipt({ receipt, trustedDeviceKeys: { 'cam-1': [`0x${'00'.repeat(32)}`] } });
    expect(v.checks.find((c) => c.name === 'signature')?.code).toBe('SIGNATURE_UNTRUSTED_KEY');
  });

  it('a record signed with a small-order key is named as such (such a signature proves nothing)', async () => {
    const weak = { ...receipt, record: { ...receipt.record!, sig: { ...receipt.record!.sig!, key: `0x${'00'.repeat(32)}` } } };
    const v = await verifyReceipt({ receipt: weak as never });
    expect(v.checks.find((c) => c.name === 'signature')).toMatchObject({ status: 'fail', code: 'SIGNATURE_WEAK_KEY' });
  });

  it('unparseable input gives a failed format check, not an exception', async () => {
    const v = await verifyReceipt({ receipt: '{"format":"liuhen-receipt/1"' });
    expect(v.status).toBe('failed');
    expect(v.checks).toEqual([expect.objectContaining({ name: 'format', status: 'fail', code: 'INVALID_RECEIPT' })]);
  });
});

describe('hostile nesting', () => {
  it('a receipt nested 60,000 levels deep is a coded refusal, not a stack overflow', () => {
    const deep = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
    expect(() => parseReceipt(`{"format":"liuhen-receipt/1","record":${deep}}`)).toThrow(expect.objectContaining({ code: 'INVALID_RECEIPT' }));
  });
  it('a record body deeper than 16 levels is refused with a field-level message', async () => {
    const { parseRecord } = await import('../../src/record/parse.js');
    let body: Record<string, unknown> = { x: 1 };
    for (let i = 0; i < 20; i++) body = { n: body };
    const r = { ...receipt.record!, media: undefined, kind: 'form', body };
    expect(() => parseRecord(r)).toThrow(/body: must be at most 16 levels deep/);
  });
});
