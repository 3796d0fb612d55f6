/**
 * The notary's pure parts: the policy checks at their boundaries, where the
 * passphrase comes from, and the key files.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLiuhenError } from '../../src/errors.js';
import {
  checkBatchPolicy,
  createNotaryKey,
  DEFAULT_NOTARY_POLICY,
  keystoreAddress,
  notaryPaths,
  openKeystore,
  resolveNotaryPassphrase,
  resolvePolicy,
  type AnchoredBatch,
} from '../../src/notary/index.js';
import { agencyCodeOf } from '../../src/notary/registry.js';
import { tempDirs } from './temp.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const T = 1_750_000_000;
const batch = (o: Partial<AnchoredBatch> = {}): AnchoredBatch => ({
  agency: `0x${Buffer.from('310115-ZFJ').toString('hex').padEnd(64, '0')}`,
  agencyCode: '310115-ZFJ',
  seq: 1,
  root: `0x${'11'.repeat(32)}`,
  size: 10,
  prevRoot: `0x${'00'.repeat(32)}`,
  firstCapturedAt: T - 60,
  lastCapturedAt: T - 1,
  anchoredAt: T,
  blockNumber: 7,
  ...o,
});
const policy = resolvePolicy({});
const reason = (b: AnchoredBatch, now = T + 5, p = policy): string | undefined => checkBatchPolicy(b, p, now)?.reason;

describe('notary policy', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_NOTARY_POLICY).toEqual({ maxAge: 86_400, futureSkew: 300, maxBatchSize: 1 << 20, confirmations: 1 });
    expect(resolvePolicy({ maxAge: 10, confirmations: undefined })).toEqual({ ...DEFAULT_NOTARY_POLICY, maxAge: 10 });
    expect(() => resolvePolicy({ maxAge: -1 })).toThrow(RangeError);
    expect(() => resolvePolicy({ maxBatchSize: 0 })).toThrow(RangeError);
  });

  it('accepts a timely batch', () => {
    expect(checkBatchPolicy(batch(), policy, T + 5)).toBeUndefined();
  });

  it('capture in the future: beyond the skew after the anchoring block, or after the notary clock', () => {
    expect(reason(batch({ lastCapturedAt: T + 300 }))).toBeUndefined();
    expect(reason(batch({ lastCapturedAt: T + 301 }))).toBe('CAPTURE_IN_FUTURE');
    // A block stamped in the future does not make a future capture acceptable: the notary's clock bounds it too.
    expect(reason(batch({ anchoredAt: T + 10_000, lastCapturedAt: T + 9_000 }), T)).toBe('CAPTURE_IN_FUTURE');
    const r = checkBatchPolicy(batch({ lastCapturedAt: T + 3600 }), policy, T + 5)!;
    expect(r.message).toContain('3600 s after the anchoring block');
    expect(r.details).toMatchObject({ lastCapturedAt: T + 3600, anchoredAt: T, futureSkew: 300 });
  });

  it('capture too old: first capture more than maxAge before the anchoring block', () => {
    expect(reason(batch({ firstCapturedAt: T - 86_400 }))).toBeUndefined();
    expect(reason(batch({ firstCapturedAt: T - 86_401 }))).toBe('CAPTURE_TOO_OLD');
    expect(reason(batch({ firstCapturedAt: T - 86_401 }), T, resolvePolicy({ maxAge: 2 * 86_400 }))).toBeUndefined();
  });

  it('size, span and agency code', () => {
    expect(reason(batch({ size: 0 }))).toBe('EMPTY_BATCH');
    expect(reason(batch({ size: (1 << 20) + 1 }))).toBe('BATCH_TOO_LARGE');
    expect(reason(batch({ size: 5 }), T, resolvePolicy({ maxBatchSize: 4 }))).toBe('BATCH_TOO_LARGE');
    expect(reason(batch({ firstCapturedAt: T - 1, lastCapturedAt: T - 2 }))).toBe('CAPTURE_SPAN_REVERSED');
    expect(reason(batch({ agencyCode: undefined }))).toBe('AGENCY_CODE_INVALID');
  });

  it('reads an agency code from bytes32 only when it round-trips', () => {
    expect(agencyCodeOf(batch().agency)).toBe('310115-ZFJ');
    expect(agencyCodeOf(`0x${'41'.repeat(32)}`)).toBeUndefined(); // no terminating zero
    expect(agencyCodeOf(`0x41${'00'.repeat(30)}42`)).toBeUndefined(); // bytes after the padding
    expect(agencyCodeOf(`0x${'00'.repeat(32)}`)).toBeUndefined();
    expect(agencyCodeOf(`0xff${'00'.repeat(31)}`)).toBeUndefined(); // not UTF-8
  });
});

describe('notary key and passphrase', () => {
  it('init writes an encrypted keystore; a wrong passphrase is KEY_PASSPHRASE_WRONG and never echoed', async () => {
    const data = dirs.make();
    const secret = 'correct horse battery staple';
    const { address, keystore } = await createNotaryKey({ dataDir: data, passphrase: secret });
    expect(keystore).toBe(notaryPaths(data).keystore);
    expect(keystoreAddress(keystore).toLowerCase()).toBe(address.toLowerCase());
    expect(statSync(keystore).mode & 0o777).toBe(0o600);
    expect(readFileSync(keystore, 'utf8')).not.toContain(secret);
    expect((await openKeystore(keystore, secret)).address).toBe(address);
    const wrong = 'not the passphrase 12345';
    const error = await openKeystore(keystore, wrong).catch((e: unknown) => e);
    expect(isLiuhenError(error, 'KEY_PASSPHRASE_WRONG')).toBe(true);
    const text = JSON.stringify({ message: (error as Error).message, json: (error as { toJSON(): unknown }).toJSON(), stack: (error as Error).stack });
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(secret);
    await expect(createNotaryKey({ dataDir: data, passphrase: secret })).rejects.toSatisfy((e) => isLiuhenError(e, 'DATA_DIR_EXISTS'));
  });

  it('passphrase: env first; the dev passphrase file only on a dev chain; else KEY_MISSING naming the variable', async () => {
    const data = dirs.make();
    const { devPassphrase, address } = await createNotaryKey({ dataDir: data, dev: true });
    expect(devPassphrase).toBe(notaryPaths(data).devPassphrase);
    expect(statSync(devPassphrase!).mode & 0o777).toBe(0o600);
    const fromFile = readFileSync(devPassphrase!, 'utf8').trim();
    expect((await openKeystore(notaryPaths(data).keystore, fromFile)).address).toBe(address);

    expect(await resolveNotaryPassphrase({ dataDir: data, chainId: 27752, env: {}, prompt: false })).toBe(fromFile);
    expect(await resolveNotaryPassphrase({ dataDir: data, chainId: 31337, env: {}, prompt: false })).toBe(fromFile);
    expect(await resolveNotaryPassphrase({ dataDir: data, chainId: 31337, env: { LIUHEN_NOTARY_PASSPHRASE: 'from-env-123' }, prompt: false })).toBe(
      'from-env-123',
    );
    const missing = await resolveNotaryPassphrase({ dataDir: data, chainId: 1, env: {}, prompt: false }).catch((e: unknown) => e);
    expect(isLiuhenError(missing, 'KEY_MISSING')).toBe(true);
    expect((missing as Error).message).toContain('LIUHEN_NOTARY_PASSPHRASE');
    expect((missing as Error).message).not.toContain(fromFile);
  });

  it('a failed dev init leaves no passphrase file behind', async () => {
    const data = dirs.make();
    const ks = join(data, 'elsewhere.json');
    writeFileSync(ks, '{}');
    await expect(createNotaryKey({ dataDir: data, keystore: ks, dev: true })).rejects.toSatisfy((e) => isLiuhenError(e, 'DATA_DIR_EXISTS'));
    expect(existsSync(notaryPaths(data).devPassphrase)).toBe(false);
  });
});
