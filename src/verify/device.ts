import { AUTHENTICITY_CODES, AUTHENTICITY_WORDS, type Authenticity, type AuthenticityLevel, type ExistenceProof } from '../devices/authenticity.js';
import type { Receipt } from '../receipt/format.js';
import type { CheckOutcome } from './types.js';

/**
 * The `device` check (issue 13): whether the key that signed the record was
 * enrolled on the registry for that device (or for a station of its agency)
 * when it signed, and not revoked before the record is proven to exist — and,
 * whatever the answer, the record's authenticity level in the verdict.
 *
 * It is about who signed, not about whether the file changed: the content,
 * signature, leaf, inclusion and anchor checks decide that. So a key that is
 * not enrolled, or revoked, is a `warn` (a finding a judge must read, stated
 * as the authenticity level), never a `fail`; a registry that keeps no
 * enrollments (version 1) is `skipped`. A revoked key is judged by the
 * anchor's block time — passed only when the anchor check passed — never by
 * `capturedAt`, which whoever holds a stolen key sets.
 */
export type DeviceAuthenticity = (receipt: Receipt, existedBy: ExistenceProof | undefined) => Promise<Authenticity | undefined>;

export interface DeviceCheck {
  outcome: CheckOutcome;
  authenticity?: { level: AuthenticityLevel; zh: string; en: string };
}

export async function checkDevice(receipt: Receipt, authenticity: DeviceAuthenticity, anchorProven: boolean): Promise<DeviceCheck> {
  if (!receipt.record)
    return { outcome: { status: 'skipped', code: 'DEVICE_RECORD_WITHHELD', detail: 'the record is withheld: its device and signing key cannot be looked up' } };
  const existedBy: ExistenceProof | undefined = anchorProven && receipt.anchor ? { time: receipt.anchor.timestamp, source: 'anchor' } : undefined;
  const a = await authenticity(receipt, existedBy);
  if (!a) return { outcome: { status: 'skipped', code: 'DEVICE_ENROLLMENT_UNKNOWN', detail: 'no trusted registry to look the device up in' } };
  const words = AUTHENTICITY_WORDS[a.level];
  const { status, code } = AUTHENTICITY_CODES[a.level];
  return { outcome: { status, code, detail: `${words.zh} — ${a.detail}` }, authenticity: { level: a.level, ...words } };
}
