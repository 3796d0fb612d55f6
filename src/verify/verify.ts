import { isLiuhenError } from '../errors.js';
import { parseReceipt, type Receipt } from '../receipt/format.js';
import { checkContent, checkInclusion, checkLeaf, checkPolicy, checkSignature } from './checks.js';
import { checkDevice } from './device.js';
import type { AnchorOutcome, Check, CheckName, CheckOutcome, Verdict, VerdictStatus, VerifyParameters } from './types.js';

/**
 * The verification pipeline: format → content → signature → leaf → inclusion
 * → anchor → notary → policy. Every check runs (a verdict lists them all); the
 * verdict fails if any check fails, is incomplete if any is pending, and is
 * verified otherwise.
 */
export async function verifyReceipt(params: VerifyParameters): Promise<Verdict> {
  const checks: Check[] = [];
  const add = (name: CheckName, o: CheckOutcome) => checks.push({ name, ...o, ok: o.status === 'pass' || o.status === 'warn' || o.status === 'skipped' });

  let receipt: Receipt;
  try {
    receipt = parseReceipt(params.receipt);
  } catch (e) {
    add('format', {
      status: 'fail',
      code: isLiuhenError(e) ? e.code : 'INVALID_RECEIPT',
      detail: isLiuhenError(e) ? e.message : 'the receipt could not be read',
    });
    return verdict(checks, null, null);
  }
  add('format', { status: 'pass', code: 'FORMAT_VALID', detail: `${receipt.format}, record ${receipt.record?.id ?? '(withheld)'}` });
  add('content', await checkContent(receipt, params.content));
  add('signature', checkSignature(receipt, params.trustedDeviceKeys));
  const { outcome, leaf } = checkLeaf(receipt);
  add('leaf', outcome);
  add('inclusion', checkInclusion(receipt, leaf));
  // The anchor time the chain proved; undefined while no chain confirmed the anchor.
  let anchoredAt: number | undefined;
  if (params.chain) {
    const chain = params.chain;
    const { anchoredAt: proven, ...anchor } = await safely(() => chain.checkAnchor(receipt));
    add('anchor', anchor);
    if (receipt.anchor && (anchor.status === 'pass' || anchor.status === 'warn')) anchoredAt = proven ?? receipt.anchor.timestamp;
    add('notary', await safely(() => chain.checkNotary(receipt)));
  } else {
    add(
      'anchor',
      receipt.anchor
        ? { status: 'pending', code: 'CHAIN_NOT_CONSULTED', detail: `the receipt claims block ${receipt.anchor.blockNumber}; give --rpc to check it on chain` }
        : { status: 'pending', code: 'ANCHOR_ABSENT', detail: 'the batch is not anchored yet' },
    );
    add(
      'notary',
      receipt.attestations.length > 0
        ? { status: 'pending', code: 'CHAIN_NOT_CONSULTED', detail: `${receipt.attestations.length} attestation(s); the notary roles are checked on chain` }
        : { status: 'pending', code: 'NOTARY_ABSENT', detail: 'no notary has attested the batch yet' },
    );
  }
  add('policy', checkPolicy(receipt, params.policy, anchoredAt));
  // Who signed (issue 13), when the chain verifier can read device enrollments: appended last, stating the authenticity level.
  let authenticity: Verdict['authenticity'];
  const deviceAuthenticity = params.chain?.deviceAuthenticity;
  if (deviceAuthenticity) {
    const anchorProven = checks.some((c) => c.name === 'anchor' && c.status === 'pass');
    try {
      const d = await checkDevice(receipt, deviceAuthenticity, anchorProven);
      add('device', d.outcome);
      authenticity = d.authenticity;
    } catch (e) {
      add('device', {
        status: 'pending',
        code: isLiuhenError(e) ? e.code : 'CHAIN_UNREACHABLE',
        detail: isLiuhenError(e) ? e.message : 'the device enrollments could not be read',
      });
    }
  }
  const v = verdict(checks, leaf, receipt.batch.root);
  return authenticity ? { ...v, authenticity } : v;
}

async function safely(run: () => Promise<AnchorOutcome>): Promise<AnchorOutcome> {
  try {
    return await run();
  } catch (e) {
    return {
      status: 'pending',
      code: isLiuhenError(e) ? e.code : 'CHAIN_UNREACHABLE',
      detail: isLiuhenError(e) ? e.message : 'the chain could not be consulted',
    };
  }
}

function verdict(checks: Check[], leaf: string | null, root: string | null): Verdict {
  const status: VerdictStatus = checks.some((c) => c.status === 'fail') ? 'failed' : checks.some((c) => c.status === 'pending') ? 'incomplete' : 'verified';
  return { format: 'liuhen-verdict/1', status, ok: status === 'verified', leaf, root, checks };
}

/** CLI exit status: 0 verified, 1 a check failed (altered or forged), 3 incomplete. (2 is bad usage, decided before verifying.) */
export function exitCodeOf(v: Verdict): 0 | 1 | 3 {
  return v.status === 'verified' ? 0 : v.status === 'failed' ? 1 : 3;
}

/** The first failing (or else pending) check: what a person should read first. */
export function firstProblem(v: Verdict): Check | undefined {
  return v.checks.find((c) => c.status === 'fail') ?? v.checks.find((c) => c.status === 'pending');
}
