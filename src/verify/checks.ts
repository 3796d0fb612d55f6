import { hashFile, hashStream } from '../hash/stream.js';
import { isLiuhenError } from '../errors.js';
import { rootFromInclusionProof } from '../merkle/verify.js';
import { recordLeaf } from '../record/leaf.js';
import { isUsableDeviceKey, verifyRecordSignature } from '../record/signature.js';
import type { Receipt } from '../receipt/format.js';
import { fromHex, toHex } from '../util/hex.js';
import type { CheckOutcome, ContentInput, VerifyPolicy } from './types.js';

/** Each check is small, pure over its inputs, and never throws for bad data: it reports. */

const out = (status: CheckOutcome['status'], code: string, detail: string): CheckOutcome => ({ status, code, detail });

export async function checkContent(receipt: Receipt, content: ContentInput | undefined): Promise<CheckOutcome> {
  if (!content) return out('skipped', 'CONTENT_NOT_GIVEN', 'no file given: the content was not compared');
  // Issue 9.1: a file (or its SHA-256) was given, so the caller asks "is this the
  // recorded file?". With the record withheld that cannot be answered: the leaf
  // commits to the record, not to any file we could hash. Never "skipped" (which
  // would let the verdict say verified for ANY file) — pending: nothing is proven
  // forged either, so the verdict is incomplete (exit 3), not failed.
  if (!receipt.record)
    return out(
      'pending',
      'CONTENT_RECORD_WITHHELD',
      'the receipt withholds the record, so the given file cannot be compared with it: ask the agency for the full receipt',
    );
  const media = receipt.record.media;
  if (!media) return out('fail', 'CONTENT_UNEXPECTED', 'the record has no file (it is structured content), but a file was given');
  let sha256: string;
  let size: number | undefined;
  try {
    if ('sha256' in content) sha256 = content.sha256.toLowerCase();
    else {
      const r = 'path' in content ? await hashFile(content.path) : await hashStream(content.stream);
      sha256 = r.sha256;
      size = r.size;
    }
  } catch (e) {
    return out('pending', 'CONTENT_UNREADABLE', isLiuhenError(e) ? e.message : 'the file could not be read');
  }
  if (sha256 !== media.sha256)
    return out(
      'fail',
      'CONTENT_MISMATCH',
      `the file's SHA-256 ${sha256.slice(0, 16)}… differs from the record's ${media.sha256.slice(0, 16)}…: the file was altered or is another file`,
    );
  if (size !== undefined && size !== media.size) return out('fail', 'CONTENT_SIZE_MISMATCH', `the file has ${size} bytes, the record says ${media.size}`);
  return out('pass', 'CONTENT_MATCH', `the file's SHA-256 matches the record (${media.size} bytes)`);
}

export function checkSignature(receipt: Receipt, trusted: Record<string, string[]> | undefined): CheckOutcome {
  const record = receipt.record;
  if (!record) {
    // Asked to check the key against a device registry, but the key is in the withheld record: not confirmed (issue 9.1).
    if (trusted)
      return out(
        'pending',
        'SIGNATURE_RECORD_WITHHELD',
        'a device registry was given, but the record (and the key that signed it) is withheld: the key cannot be checked against the registry',
      );
    return out('skipped', 'RECORD_WITHHELD', 'the record is withheld; its device signature is covered by the leaf');
  }
  if (!record.sig) return out('fail', 'SIGNATURE_MISSING', 'the record carries no device signature');
  let usable = false;
  let valid = false;
  try {
    usable = isUsableDeviceKey(record.sig.key);
    valid = usable && verifyRecordSignature(record);
  } catch {
    valid = false;
  }
  if (!usable)
    return out(
      'fail',
      'SIGNATURE_WEAK_KEY',
      `key ${String(record.sig.key).slice(0, 18)}… is a small-order or malformed Ed25519 key: a signature by it proves nothing`,
    );
  if (!valid)
    return out('fail', 'SIGNATURE_INVALID', `the device signature does not match the record: the record was altered after device ${record.device} signed it`);
  if (trusted) {
    const keys = trusted[record.device] ?? [];
    if (!keys.includes(record.sig.key))
      return out('fail', 'SIGNATURE_UNTRUSTED_KEY', `key ${record.sig.key.slice(0, 18)}… is not registered for device ${record.device}`);
    return out('pass', 'SIGNATURE_VALID', `signed by the registered key of device ${record.device}`);
  }
  // Without a registry the key is not tied to the device: it may be the camera's own
  // key or that of the station or gateway that received the file on its behalf.
  return out(
    'pass',
    'SIGNATURE_VALID',
    `signed with key ${record.sig.key.slice(0, 18)}… for device ${record.device}; no device registry given, so the key is not tied to the device`,
  );
}

/** The leaf is recomputed from the record — never taken from the receipt on trust. */
export function checkLeaf(receipt: Receipt): { outcome: CheckOutcome; leaf: string } {
  if (!receipt.record) return { outcome: out('skipped', 'RECORD_WITHHELD', 'the record is withheld; the stated leaf is used'), leaf: receipt.leaf };
  const leaf = recordLeaf(receipt.record);
  if (leaf !== receipt.leaf)
    return { outcome: out('fail', 'LEAF_MISMATCH', `the record hashes to ${leaf.slice(0, 18)}…, the receipt states ${receipt.leaf.slice(0, 18)}…`), leaf };
  return { outcome: out('pass', 'LEAF_MATCH', 'SHA-256(0x00 ‖ JCS(record)) equals the stated leaf'), leaf };
}

/** RFC 9162 §2.1.3.2 with the recomputed leaf. */
export function checkInclusion(receipt: Receipt, leaf: string): CheckOutcome {
  try {
    const root = toHex(
      rootFromInclusionProof(
        receipt.inclusion.index,
        receipt.inclusion.size,
        fromHex(leaf, 32),
        receipt.inclusion.path.map((p) => fromHex(p, 32)),
      ),
    );
    if (root !== receipt.batch.root)
      return out('fail', 'INCLUSION_ROOT_MISMATCH', `the proof leads to root ${root.slice(0, 18)}…, not the batch root ${receipt.batch.root.slice(0, 18)}…`);
    return out(
      'pass',
      'INCLUSION_VALID',
      `leaf ${receipt.inclusion.index} of ${receipt.inclusion.size} is in batch ${receipt.batch.agency}#${receipt.batch.seq}`,
    );
  } catch (e) {
    return out('fail', 'INCLUSION_INVALID', isLiuhenError(e) ? e.message : 'the inclusion proof is malformed');
  }
}

/**
 * Timeliness: was the record anchored soon after capture (the "authentic
 * before chain" question)? `anchoredAt` is the anchor time the chain proved
 * (the anchor check's `anchoredAt`), or undefined when no chain confirmed
 * it: the receipt's own `anchor.timestamp` is an unchecked claim, and a
 * policy judged on a claim is pending, never passed (issue 9.1).
 */
export function checkPolicy(receipt: Receipt, policy: VerifyPolicy = {}, anchoredAt?: number): CheckOutcome {
  const maxDelay = policy.maxAnchorDelaySeconds ?? 3600;
  const skew = policy.maxClockSkewSeconds ?? 300;
  if (!receipt.anchor) return out('skipped', 'POLICY_NOT_ANCHORED', 'timeliness is checked once the batch is anchored');
  if (!receipt.record) return out('skipped', 'RECORD_WITHHELD', 'capture time withheld');
  if (anchoredAt === undefined)
    return out(
      'pending',
      'POLICY_ANCHOR_UNPROVEN',
      `the anchor time ${new Date(receipt.anchor.timestamp * 1000).toISOString()} is the receipt's own claim until the chain confirms it`,
    );
  const captured = Math.floor(Date.parse(receipt.record.capturedAt) / 1000);
  const delay = anchoredAt - captured;
  if (delay < -skew)
    return out('warn', 'POLICY_CAPTURED_IN_FUTURE', `captured ${-delay} s after the block that anchors it: the device clock is wrong or the time was forged`);
  if (delay > maxDelay) return out('warn', 'POLICY_ANCHORED_LATE', `anchored ${delay} s after capture (policy: at most ${maxDelay} s)`);
  return out('pass', 'POLICY_TIMELY', `anchored ${Math.max(delay, 0)} s after capture`);
}
