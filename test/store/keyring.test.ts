/** The agency keyring: KEKs per agency in one passphrase-encrypted file. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLiuhenError, LiuhenError } from '../../src/errors.js';
import { createKeyring, DEFAULT_SCRYPT, decryptEvidence, encryptEvidence, openKeyring } from '../../src/store/index.js';
import { cleanup, collect, collectUntilError, expectCode, pattern, tempDir, thrown } from './helpers.js';

const PASS = 'Tr0ub4dor&3-horse-staple';
const FAST = { scrypt: { N: 2 ** 14 } }; // tests only; the default is 2^17
const RECORD = '01HZY3K5V8Q9R2T4W6X8Z0A1B2';

describe('keyring', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await tempDir('liuhen-keyring-');
    path = join(dir, 'keyring.json');
  });
  afterEach(async () => cleanup(dir));

  it('creates a keyring with one KEK per agency and reopens it', async () => {
    const ring = await createKeyring(path, PASS, { agencies: ['AG-01', 'AG-02'], ...FAST });
    const w1 = ring.forAgency('AG-01');
    expect(ring.agencies()).toEqual(['AG-01', 'AG-02']);
    expect(w1.agency).toBe('AG-01');
    expect(w1.keyId).toMatch(/^kek-[0-9a-f]{32}$/);
    expect(ring.forAgency('AG-02').keyId).not.toBe(w1.keyId);
    const e = encryptEvidence(pattern(5000), { recordId: RECORD, wrapper: w1 });
    const object = await collect(e.chunks);
    ring.close();

    const again = await openKeyring(path, PASS);
    expect(again.agencies()).toEqual(['AG-01', 'AG-02']);
    expect(again.byId(w1.keyId).keyId).toBe(w1.keyId);
    expect(
      (
        await collect(
          decryptEvidence(
            (async function* () {
              yield object;
            })(),
            { recordId: RECORD, keys: again },
          ),
        )
      ).equals(pattern(5000)),
    ).toBe(true);
    again.close();
  });

  it('uses sane scrypt parameters by default (N = 2^17, r = 8, p = 1) and a 16-byte salt', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const ring = await createKeyring(path, PASS);
    ring.close();
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file.format).toBe('liuhen-keyring/1');
    expect(file.kdf).toMatchObject({ name: 'scrypt', N: 131072, r: 8, p: 1 });
    expect(Buffer.from(file.kdf.salt, 'base64')).toHaveLength(16);
    expect(file.cipher.name).toBe('aes-256-gcm');
    (await openKeyring(path, PASS)).close();
  });

  it('writes the file with mode 0600 and never the KEKs or the passphrase in clear', async () => {
    const ring = await createKeyring(path, PASS, { agencies: ['AG-01'], ...FAST });
    const text = await readFile(path, 'utf8');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(text).not.toContain(PASS);
    expect(text).not.toContain('AG-01'); // even the agency list is inside the ciphertext
    expect(text).not.toContain(ring.forAgency('AG-01').keyId);
    ring.close();
  });

  it('wrong passphrase → KEY_PASSPHRASE_WRONG, and the passphrase is in no message', async () => {
    (await createKeyring(path, PASS, FAST)).close();
    const wrong = 'not-the-right-passphrase';
    let error: unknown;
    try {
      await openKeyring(path, wrong);
    } catch (e) {
      error = e;
    }
    expect(isLiuhenError(error, 'KEY_PASSPHRASE_WRONG')).toBe(true);
    const e = error as LiuhenError;
    for (const text of [e.message, JSON.stringify(e.toJSON()), String(e.stack), JSON.stringify(e.details ?? {})]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(PASS);
    }
  });

  it('refuses to overwrite a keyring, and says so when none exists', async () => {
    (await createKeyring(path, PASS, FAST)).close();
    await expect(createKeyring(path, PASS, FAST)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_KEYRING_EXISTS'));
    await expect(openKeyring(join(dir, 'nope.json'), PASS)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_MISSING'));
  });

  it('rejects a short passphrase and hostile scrypt parameters (before running scrypt)', async () => {
    await expect(createKeyring(path, 'short', FAST)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_INVALID'));
    await expect(createKeyring(path, PASS, { scrypt: { N: 1000 } })).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_INVALID'));
    (await createKeyring(path, PASS, FAST)).close();
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.kdf.N = 2 ** 30; // a memory bomb
    await writeFile(path, JSON.stringify(file));
    // Refused by the parameter check itself (its message names N), not by scrypt running out of memory.
    await expect(openKeyring(path, PASS)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_INVALID') && /\bN\b/.test((e as Error).message));
  });

  it('a damaged or altered file fails with a coded error', async () => {
    (await createKeyring(path, PASS, { agencies: ['AG-01'], ...FAST })).close();
    const file = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, '{not json');
    await expect(openKeyring(path, PASS)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_INVALID'));
    const data = Buffer.from(file.data, 'base64');
    data[3]! ^= 1;
    await writeFile(path, JSON.stringify({ ...file, data: data.toString('base64') }));
    // GCM cannot tell an altered file from a wrong passphrase: both are refused
    await expect(openKeyring(path, PASS)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_PASSPHRASE_WRONG'));
    await writeFile(path, JSON.stringify({ ...file, kdf: { ...file.kdf, r: 9 } })); // parameters are bound as AAD
    await expect(openKeyring(path, PASS)).rejects.toSatisfy((e) => isLiuhenError(e, 'KEY_PASSPHRASE_WRONG'));
  });

  it('adds agencies and rotates keys; objects sealed under an old key still open', async () => {
    const ring = await createKeyring(path, PASS, { agencies: ['AG-01'], ...FAST });
    const old = ring.forAgency('AG-01');
    const sealed = await collect(encryptEvidence(pattern(2000), { recordId: RECORD, wrapper: old }).chunks);
    const rotated = await ring.rotate('AG-01');
    expect(rotated.keyId).not.toBe(old.keyId);
    expect(ring.forAgency('AG-01').keyId).toBe(rotated.keyId);
    const added = await ring.addAgency('AG-03');
    expect(await ring.addAgency('AG-03')).toBe(added); // idempotent
    ring.close();
    expectCode(
      thrown(() => ring.forAgency('AG-01')),
      'STORE_CLOSED',
    );

    const again = await openKeyring(path, PASS);
    expect(again.agencies()).toEqual(['AG-01', 'AG-03']);
    expect(again.forAgency('AG-01').keyId).toBe(rotated.keyId);
    const back = await collect(
      decryptEvidence(
        (async function* () {
          yield sealed;
        })(),
        { recordId: RECORD, keys: again },
      ),
    );
    expect(back.equals(pattern(2000))).toBe(true);
    expectCode(
      thrown(() => again.forAgency('AG-09')),
      'STORE_KEY',
    );
    again.close();
  });

  it('an object sealed with one keyring does not open with another', async () => {
    const a = await createKeyring(path, PASS, { agencies: ['AG-01'], ...FAST });
    const b = await createKeyring(join(dir, 'other.json'), PASS, { agencies: ['AG-01'], ...FAST });
    const sealed = await collect(encryptEvidence(pattern(100), { recordId: RECORD, wrapper: a.forAgency('AG-01') }).chunks);
    const r = await collectUntilError(
      decryptEvidence(
        (async function* () {
          yield sealed;
        })(),
        { recordId: RECORD, keys: b },
      ),
    );
    expectCode(r.error, 'STORE_KEY');
    expect(r.received.length).toBe(0);
    a.close();
    b.close();
  });
});
