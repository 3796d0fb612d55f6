import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { fail, type EvidenceStore } from '../../../src/index.js';

/**
 * A citizen's phone number, kept off the anchored record (个人信息保护法):
 *
 * - the number (with a 32-byte random salt) is encrypted with a key of its
 *   own (AES-256-GCM, one random key per feedback) and the ciphertext is put
 *   in the evidence store (which encrypts it again under the supervision
 *   agency's KEK);
 * - the per-feedback key lives in the phone vault (`<data>/supervision/phone-keys`,
 *   a LevelDB of its own, never journaled);
 * - the record holds only a commitment, SHA-256(salt ‖ number): it proves
 *   which number was given without revealing it (the salt makes guessing the
 *   11-digit space useless);
 * - erasure destroys the key: the stored ciphertext becomes unreadable, and no
 *   record, batch or chain changes.
 */
export interface PhoneEntry {
  key: string;
  cid: string;
  agency: string;
}

export class PhoneVault {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(dataDir: string): Promise<PhoneVault> {
    const dir = join(dataDir, 'supervision', 'phone-keys');
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    return new PhoneVault(db);
  }

  /** Encrypts and stores the number for record `recordId`; returns the commitment for the record. */
  async seal(store: EvidenceStore, agency: string, recordId: string, phone: string): Promise<{ commitment: string }> {
    const salt = randomBytes(32);
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const plain = Buffer.from(JSON.stringify({ phone, salt: salt.toString('hex') }), 'utf8');
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    const put = await store.put(sealed, { recordId, agency });
    // Durable before the record that commits to it is journaled.
    await this.db.put(recordId, JSON.stringify({ key: key.toString('hex'), cid: put.cid, agency } satisfies PhoneEntry), { sync: true });
    return { commitment: `0x${createHash('sha256').update(salt).update(phone, 'utf8').digest('hex')}` };
  }

  /** The number, decrypted; PHONE_ERASED-like NOT_FOUND once erased. */
  async open(store: EvidenceStore, recordId: string): Promise<{ phone: string; salt: string }> {
    const v = await this.db.get(recordId);
    if (!v) fail('NOT_FOUND', 'no phone number is held for this feedback (none was given, or it was erased)');
    const e = JSON.parse(v) as PhoneEntry;
    const chunks: Buffer[] = [];
    for await (const c of store.get(e.cid, { recordId })) chunks.push(Buffer.from(c));
    const sealed = Buffer.concat(chunks);
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(e.key, 'hex'), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as { phone: string; salt: string };
  }

  async has(recordId: string): Promise<boolean> {
    return (await this.db.get(recordId)) !== undefined;
  }

  /** Destroys the key (crypto-erasure). Returns false when there was nothing to erase. */
  async erase(recordId: string): Promise<boolean> {
    if (!(await this.has(recordId))) return false;
    await this.db.del(recordId, { sync: true });
    return true;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
