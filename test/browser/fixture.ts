/**
 * Test data for the page tests, made with the real SDK on a temp data folder:
 * - an evidence clip (3 MB, with a marker string) recorded on-site in a case
 *   that goes filing → investigation → decision → service with no legal review
 *   (CASE_DECISION_WITHOUT_REVIEW);
 * - body camera BWC-0007 with 8 records, then tampered with the way an insider
 *   with access to the journal's LevelDB would: clip 3 deleted (DEVICE_SEQ_HOLE)
 *   and record 6 replaced by another record 6 of the same device id, signed
 *   elsewhere (DEVICE_CHAIN_BREAK at 6 and 7).
 * The journal cannot append pre-built records (it assigns seq/prev itself), so
 * the tampering edits the LevelDB directly with the journal's own key layout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { Liuhen, paths, redactReceipt, type Receipt } from '../../src/index.js';
import { K } from '../../src/journal/keys.js';

export const AGENCY = 'JN-SCJG';
export const CASE_ID = '济市监罚〔2026〕42号';
export const DEVICE_ID = 'BWC-0007';

export interface Fixture {
  /** The Liuhen data folder the API serves. */
  dataDir: string;
  /** Evidence clip bytes (recorded on-site in CASE_ID) and the same clip with one byte changed. */
  clip: Buffer;
  tamperedClip: Buffer;
  clipSha256: string;
  /** A string inside the clip: it must never appear in anything the browser sends. */
  marker: string;
  clipRecordId: string;
  clipLeaf: string;
  /** The clip's receipt as a file would hold it. */
  receiptText: string;
  /** The same receipt with the record withheld (`record: null`, the public disclosure form). */
  withheldReceiptText: string;
  /** Another evidence file (a photo at terminal TERM-0200, in no case) and its receipt. */
  photo: Buffer;
  photoReceiptText: string;
}

export async function buildFixture(root: string): Promise<Fixture> {
  const dataDir = join(root, 'station');
  Liuhen.init(dataDir, { agency: AGENCY, device: 'BWC-0001', officer: '37010012345' });
  const lh = await Liuhen.open(dataDir);
  const t0 = Date.now() - 50 * 60_000;
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();

  // ── the case: no legal review before the decision ──
  const marker = `LIUHEN-EVIDENCE-MARKER-${randomBytes(12).toString('hex')}`;
  const clip = randomBytes(3 * 1024 * 1024);
  for (const off of [0, 1_000_000, 2_500_000]) clip.write(marker, off, 'latin1');
  const clipPath = join(root, 'clip.mp4');
  writeFileSync(clipPath, clip);
  const tamperedClip = Buffer.from(clip);
  tamperedClip[1_500_000] ^= 0x01;

  const onsite = await lh.recordFile(clipPath, { case: CASE_ID, stage: 'onsite', kind: 'video', capturedAt: at(0), type: 'video/mp4' });
  await lh.recordBody({ title: '立案审批表' }, { case: CASE_ID, stage: 'filing', capturedAt: at(6), device: 'TERM-0102' });
  await lh.recordBody({ title: '询问笔录' }, { case: CASE_ID, stage: 'investigation', capturedAt: at(12), device: 'TERM-0102' });
  await lh.recordBody({ title: '行政处罚决定书' }, { case: CASE_ID, stage: 'decision', kind: 'document', capturedAt: at(20), device: 'TERM-0102' });
  await lh.recordBody({ title: '送达回证' }, { case: CASE_ID, stage: 'service', capturedAt: at(26), device: 'TERM-0102' });

  // ── body camera BWC-0007: a session with a clip, another with a clip ──
  const events = ['power-on', 'recording-start', null, 'recording-stop', 'recording-start', null, 'recording-stop', 'power-off'] as const;
  const cam: string[] = [];
  for (const [i, e] of events.entries()) {
    const meta = { device: DEVICE_ID, capturedAt: at(30 + i) };
    if (e) cam.push((await lh.recordBody({ event: e }, { ...meta, kind: 'event' })).record.id);
    else {
      const p = join(root, `cam-${i}.mp4`);
      writeFileSync(p, randomBytes(4096));
      cam.push((await lh.recordFile(p, { ...meta, kind: 'video', type: 'video/mp4' })).record.id);
    }
  }
  // ── another file, in no case and on no camera: the second receipt of the page races ──
  const photo = randomBytes(512 * 1024);
  const photoPath = join(root, 'photo.jpg');
  writeFileSync(photoPath, photo);
  const photoRecord = await lh.recordFile(photoPath, { device: 'TERM-0200', kind: 'photo', capturedAt: at(45), type: 'image/jpeg' });
  await lh.seal();
  const receipt: Receipt = await lh.receipt(onsite.record.id);
  const photoReceipt: Receipt = await lh.receipt(photoRecord.record.id);
  const stored6 = (await lh.journal.getRecord(cam[5]!))!;
  await lh.close();

  // ── the same device id, elsewhere: a record 6 that does not belong to this chain ──
  const otherDir = join(root, 'elsewhere');
  Liuhen.init(otherDir, { agency: AGENCY, device: DEVICE_ID, officer: '37010012345' });
  const other = await Liuhen.open(otherDir);
  let forged;
  for (let i = 0; i < 6; i++) {
    const meta = { capturedAt: at(30 + i) };
    if (i < 5) forged = await other.recordBody({ event: events[i] ?? 'power-on' }, { ...meta, kind: 'event' });
    else {
      const p = join(root, 'forged.mp4');
      writeFileSync(p, randomBytes(4096));
      forged = await other.recordFile(p, { ...meta, kind: 'video', type: 'video/mp4' });
    }
  }
  const forgedStored = (await other.journal.getRecord(forged!.record.id))!;
  await other.close();

  // ── the insider's edits ──
  const db = new Level<string, string>(paths(dataDir).journal, { valueEncoding: 'utf8' });
  await db.open();
  await db.batch([
    { type: 'del', key: K.record(cam[2]!) },
    { type: 'del', key: K.deviceIndex(DEVICE_ID, 3) },
    { type: 'del', key: K.record(cam[5]!) },
    { type: 'put', key: K.record(forgedStored.record.id), value: JSON.stringify({ ...forgedStored, ack: stored6.ack, journaledAt: stored6.journaledAt }) },
    { type: 'put', key: K.deviceIndex(DEVICE_ID, 6), value: forgedStored.record.id },
  ]);
  await db.close();

  return {
    dataDir,
    clip,
    tamperedClip,
    clipSha256: createHash('sha256').update(clip).digest('hex'),
    marker,
    clipRecordId: onsite.record.id,
    clipLeaf: onsite.leaf,
    receiptText: `${JSON.stringify(receipt, null, 2)}\n`,
    withheldReceiptText: `${JSON.stringify(redactReceipt(receipt), null, 2)}\n`,
    photo,
    photoReceiptText: `${JSON.stringify(photoReceipt, null, 2)}\n`,
  };
}
