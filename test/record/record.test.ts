import { describe, expect, it } from 'vitest';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { DeviceKey, isUsableDeviceKey, verifyRecordSignature, verifyRecordSignatureAsync } from '../../src/record/device-key.js';
import { recordLeaf, signingBytes, SIGNING_TAG } from '../../src/record/leaf.js';
import { canonicalize } from '../../src/record/jcs.js';
import { parseRecord } from '../../src/record/parse.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import { toHex, ZERO32 } from '../../src/util/hex.js';

const base = {
  v: 1,
  id: '01JDQ7Z8X9Y0ABCDEFGHJKMNPQ',
  agency: 'JN-CG',
  device: 'cam-01',
  officer: '37010001',
  kind: 'photo',
  media: { type: 'image/jpeg', size: 12, sha256: 'a'.repeat(64) },
  capturedAt: '2026-11-27T09:30:00+08:00',
  seq: 1,
  prev: ZERO32,
  salt: `0x${'11'.repeat(16)}`,
} as const;

describe('record schema', () => {
  it('accepts a well-formed record', () => expect(parseRecord(base)).toEqual(base));
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown key', { extra: 1 }, /Unrecognized key/],
    ['agency longer than 31 bytes', { agency: 'A'.repeat(32) }, /agency: must be 1-31/],
    ['uppercase hash', { media: { ...base.media, sha256: 'A'.repeat(64) } }, /media.sha256/],
    ['short salt', { salt: '0x1122' }, /salt: must be 16 to 32/],
    ['seq 0', { seq: 0 }, /seq/],
    ['first record with a prev', { prev: `0x${'ab'.repeat(32)}` }, /prev: the first record/],
    ['no media, no body', { media: undefined }, /needs media/],
    ['bad stage', { stage: 'trial' }, /stage/],
    ['time without offset', { capturedAt: '2026-11-27T09:30:00' }, /capturedAt/],
    ['__proto__ key', JSON.parse('{"__proto__": {"x": 1}}'), /Unrecognized key/],
  ];
  for (const [name, patch, msg] of bad) {
    it(`refuses ${name} with a field-level message`, () => {
      expect(() => parseRecord({ ...base, ...patch })).toThrow(msg);
      expect(() => parseRecord({ ...base, ...patch })).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }));
    });
  }
});

describe('leaf and device signature', () => {
  const key = DeviceKey.generate();
  const signed = key.signSync(parseRecord(base));

  it('leaf = SHA-256(0x00 ‖ JCS(record)) with the signature included', () => {
    expect(recordLeaf(signed)).toBe(toHex(hashLeaf(new TextEncoder().encode(canonicalize(signed)))));
    expect(recordLeaf(signed)).not.toBe(recordLeaf({ ...signed, sig: undefined }));
  });

  it('signs the domain tag and the record without sig', () => {
    expect(new TextDecoder().decode(signingBytes(signed))).toBe(SIGNING_TAG + canonicalize({ ...signed, sig: undefined }));
    expect(verifyRecordSignature(signed)).toBe(true);
  });

  it('any change to the signed record breaks the signature', () => {
    expect(verifyRecordSignature({ ...signed, officer: '37010002' })).toBe(false);
    expect(verifyRecordSignature({ ...signed, seq: 2 })).toBe(false);
    expect(verifyRecordSignature({ ...signed, sig: { ...signed.sig!, key: DeviceKey.generate().publicKey } })).toBe(false);
  });

  it('a key survives PEM round trip', () => {
    const again = DeviceKey.fromPem(key.toPem());
    expect(again.publicKey).toBe(key.publicKey);
    expect(() => DeviceKey.fromPem('not a key')).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
  });
});

describe('weak device keys (small-order points, RFC 8032 §5.1.7 does not exclude them)', () => {
  const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
  const zeroKey = `0x${'00'.repeat(32)}` as const;
  const zeroSig = `0x${'00'.repeat(64)}` as const;
  /** A record "signed" by the all-zero key with an all-zero signature that OpenSSL itself accepts. */
  function forged() {
    const opensslKey = createPublicKey({ key: Buffer.concat([SPKI, Buffer.alloc(32)]), format: 'der', type: 'spki' });
    for (let i = 0; i < 256; i++) {
      const r = { ...parseRecord(base), salt: `0x${i.toString(16).padStart(32, '0')}`, sig: { alg: 'Ed25519' as const, key: zeroKey, value: zeroSig } };
      if (nodeVerify(null, signingBytes(r), opensslKey, Buffer.alloc(64))) return r;
    }
    throw new Error('no salt found');
  }

  it('a zero "signature" by the zero key that OpenSSL accepts is refused', async () => {
    const r = forged();
    expect(verifyRecordSignature(r)).toBe(false);
    expect(await verifyRecordSignatureAsync(r)).toBe(false);
  });

  it('small-order and non-canonical keys are unusable; real keys are usable', () => {
    for (const bad of ['00'.repeat(32), `01${'00'.repeat(31)}`, `ec${'ff'.repeat(30)}7f`, 'ff'.repeat(32)])
      expect(isUsableDeviceKey(`0x${bad}`), bad).toBe(false);
    expect(isUsableDeviceKey(DeviceKey.generate().publicKey)).toBe(true);
  });

  it('verifies the same off the main thread, and again from the key cache', async () => {
    const key = DeviceKey.generate();
    const signed = key.signSync(parseRecord(base));
    for (let i = 0; i < 3; i++) {
      expect(await verifyRecordSignatureAsync(signed)).toBe(true);
      expect(await verifyRecordSignatureAsync({ ...signed, officer: 'someone else' })).toBe(false);
    }
  });
});

describe('async signing', () => {
  it('signs on the thread pool with the same result as signSync (Ed25519 is deterministic)', async () => {
    const key = DeviceKey.generate();
    const r = parseRecord(base);
    expect(await key.sign(r)).toEqual(key.signSync(r));
  });
});

describe('device key at rest', () => {
  it('with a passphrase the PEM is encrypted; a wrong or missing passphrase is a coded error without the passphrase', () => {
    const key = DeviceKey.generate();
    const pem = key.toPem('correct horse battery');
    expect(pem).toContain('ENCRYPTED PRIVATE KEY');
    expect(DeviceKey.fromPem(pem, 'correct horse battery').publicKey).toBe(key.publicKey);
    expect(() => DeviceKey.fromPem(pem, 'wrong horse')).toThrow(
      expect.objectContaining({ code: 'KEY_PASSPHRASE_WRONG', message: expect.not.stringContaining('wrong horse') }),
    );
    expect(() => DeviceKey.fromPem(pem)).toThrow(expect.objectContaining({ code: 'KEY_MISSING' }));
  });
});
