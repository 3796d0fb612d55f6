import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Receipt, ReceiptAnchor, ReceiptAttestation } from '../src/receipt/format.js';
import { fail } from '../src/errors.js';
import { MAX_RECEIPT_BYTES } from './constants.js';
import { humanBytes, printJson, printLine, type Run } from './output.js';
import { sdk } from './sdk.js';

/**
 * `liuhen receipt info R` and `liuhen receipt upgrade R…`, the way the
 * OpenTimestamps client has `ots info` and `ots upgrade`: a receipt fetched
 * before its batch was anchored or notarized is completed in place, from the
 * chain (the registry holds the anchor and the notaries' co-signatures) or
 * from a gateway. An upgrade only ever adds `anchor` and `attestations`;
 * everything the receipt already states (record, leaf, batch, inclusion proof)
 * must stay byte for byte, or the upgrade is refused.
 */
export function registerReceiptCommands(receipt: Command, run: Run): void {
  receipt
    .command('info')
    .description('a readable summary of a receipt: what, when, which batch, anchored where, notarized by whom (like `ots info`)')
    .argument('<receipt>', 'receipt file (JSON)')
    .option('--trust <file>', 'a trust file (liuhen-trust/1): show the display names it gives the agency and the notaries')
    .action((file: string, o: { trust?: string }) =>
      run(async (g) => {
        const r = readReceipt(file);
        const names = o.trust === undefined ? undefined : namesFrom(sdk.readTrustRoot(o.trust), r);
        const info = summary(r, names);
        if (g.json) printJson(info);
        else for (const line of describe(r, names)) printLine(line);
        return info.complete ? 0 : 3;
      }),
    );

  receipt
    .command('upgrade')
    .description(
      'complete pending receipts in place with the anchor and notary co-signatures from the chain (or --gateway), like `ots upgrade`; exit 0 when every receipt is anchored and notarized, 3 when one is still pending',
    )
    .argument('<receipts...>', 'receipt files (JSON), rewritten in place')
    .option('--rpc <url>', "JSON-RPC endpoint of the chain (default: the data folder's chain)")
    .option('--registry <address>', "the EvidenceRegistry address (default: the data folder's registry)")
    .option('--gateway <url>', 'ask this gateway instead of the chain (GET /v1/records/:id/receipt; token from LIUHEN_TOKEN)')
    .action((files: string[], o: { rpc?: string; registry?: string; gateway?: string }) =>
      run(async (g) => {
        let pending = 0;
        const source = o.gateway ? gatewaySource(o.gateway) : await chainSource(g.data, o.rpc, o.registry);
        try {
          for (const file of files) {
            const before = readReceipt(file);
            let after = before;
            if (!summary(before).complete) {
              const found = await source.find(before);
              after = merge(before, found);
            }
            const changed = JSON.stringify(after) !== JSON.stringify(before);
            if (changed) writeAtomically(file, sdk.serializeReceipt(after));
            const s = summary(after);
            if (!s.complete) pending++;
            if (g.json) printJson({ file, upgraded: changed, anchored: s.anchored, notaries: s.notaries.length, complete: s.complete });
            else
              printLine(
                `${file}: ${changed ? 'upgraded, ' : ''}${s.complete ? 'complete' : 'still pending'} — ${s.anchored ? `anchored in block ${after.anchor!.blockNumber}` : 'not anchored yet'}, ${s.notaries.length} notary co-signature(s)`,
              );
          }
        } finally {
          source.close();
        }
        return pending > 0 ? 3 : 0;
      }),
    );
}

export function readReceipt(file: string): Receipt {
  if (!existsSync(file) || !statSync(file).isFile()) fail('FILE_UNREADABLE', `cannot read the receipt ${file}`);
  if (statSync(file).size > MAX_RECEIPT_BYTES) fail('INVALID_RECEIPT', `${file} is larger than any receipt can be (${MAX_RECEIPT_BYTES} bytes)`);
  return sdk.parseReceipt(readFileSync(file, 'utf8'));
}

export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.upgrade-${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export interface Found {
  anchor: ReceiptAnchor | null;
  attestations: ReceiptAttestation[];
}

interface Source {
  find(r: Receipt): Promise<Found>;
  close(): void;
}

/** Adds what was found; never replaces what the receipt states except a stale anchor the chain moved (re-anchoring), and never drops a co-signature. */
export function merge(r: Receipt, f: Found): Receipt {
  if (!f.anchor) return r;
  const seen = new Set(r.attestations.map((a) => a.notary.toLowerCase()));
  const sameAnchor = r.anchor && r.anchor.blockHash === f.anchor.blockHash && r.anchor.txHash === f.anchor.txHash;
  const attestations = sameAnchor ? [...r.attestations, ...f.attestations.filter((a) => !seen.has(a.notary.toLowerCase()))] : f.attestations;
  attestations.sort((x, y) => (x.notary.toLowerCase() < y.notary.toLowerCase() ? -1 : x.notary.toLowerCase() > y.notary.toLowerCase() ? 1 : 0));
  return { ...r, anchor: f.anchor, attestations: attestations.slice(0, 32) };
}

/** The registry: the batch as the agency anchored it, its BatchAnchored log, and the BatchCosigned logs. */
async function chainSource(dataDir: string, rpcFlag?: string, registryFlag?: string): Promise<Source> {
  const config = existsSync(sdk.paths(dataDir).config) ? sdk.readConfig(dataDir) : undefined;
  const rpc = rpcFlag ?? config?.chain?.rpc;
  const registryAddress = registryFlag ?? config?.chain?.registry;
  if (!rpc || !registryAddress) fail('INVALID_INPUT', 'give --rpc and --registry (or a data folder with a deployed chain), or --gateway URL');
  if (!/^0x[0-9a-fA-F]{40}$/.test(registryAddress)) fail('INVALID_INPUT', '--registry must be a 20-byte address in 0x hex');
  const conn = await sdk.connectChain({ rpc });
  const registry = new sdk.RegistryClient(registryAddress, conn.provider);
  return {
    async find(r) {
      const b = r.batch;
      const stored = await registry.batch(b.agency, b.root);
      if (!stored.exists) return { anchor: null, attestations: [] };
      // The registry must hold exactly the batch this receipt names; anything else is not this receipt's anchor.
      if (stored.seq !== b.seq || stored.size !== b.size || stored.prevRoot.toLowerCase() !== b.prevRoot.toLowerCase()) {
        fail(
          'CHAIN_MISMATCH',
          `the registry holds ${b.agency}'s root ${b.root.slice(0, 10)}… as batch #${stored.seq} of ${stored.size} records, not as this receipt's #${b.seq} of ${b.size}`,
        );
      }
      const log = await registry.findAnchorLog(b.agency, b.root, stored.blockNumber);
      if (!log) return { anchor: null, attestations: [] };
      const anchor: ReceiptAnchor = {
        chainId: conn.chainId,
        registry: registry.address,
        txHash: log.txHash,
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        timestamp: stored.anchoredAt,
      };
      const seen = new Set<string>();
      const attestations: ReceiptAttestation[] = [];
      for (const c of await registry.cosignLogs(b.agency, b.root, log.blockNumber)) {
        if (seen.has(c.notary.toLowerCase())) continue;
        seen.add(c.notary.toLowerCase());
        attestations.push({ notary: c.notary, attestedAt: c.attestedAt, signature: c.signature });
      }
      return { anchor, attestations };
    },
    close: () => conn.provider.destroy(),
  };
}

/** A gateway: the record's full receipt (agency or supervisor token in LIUHEN_TOKEN); only its anchor and attestations are taken, and only if it states the same record, batch and proof. */
function gatewaySource(url: string): Source {
  const token = process.env.LIUHEN_TOKEN;
  return {
    async find(r) {
      if (!r.record) fail('INVALID_INPUT', 'this receipt withholds its record: a gateway finds receipts by record id; use the chain (--rpc) instead');
      let res: Response;
      try {
        res = await fetch(new URL(`/v1/records/${encodeURIComponent(r.record.id)}/receipt`, url), {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      } catch (cause) {
        throw new sdk.LiuhenError('CHAIN_UNREACHABLE', `the gateway ${new URL(url).origin} does not answer`, { cause });
      }
      if (res.status === 409) return { anchor: null, attestations: [] };
      if (!res.ok)
        fail(
          res.status === 401 || res.status === 403 ? 'UNAUTHORIZED' : 'INVALID_INPUT',
          `the gateway answered ${res.status}${res.status === 401 ? ' (set LIUHEN_TOKEN)' : ''}`,
        );
      const theirs = sdk.parseReceipt(await res.text());
      const same = (x: Receipt) => JSON.stringify({ record: x.record, leaf: x.leaf, batch: x.batch, inclusion: x.inclusion });
      if (same(theirs) !== same(r)) fail('INVALID_RECEIPT', 'the gateway returned a receipt for other content than this one: not merged');
      return { anchor: theirs.anchor, attestations: theirs.attestations };
    },
    close() {},
  };
}

export interface Summary {
  record: string;
  kind: string;
  agency: string;
  device: string;
  capturedAt: string;
  file: { sha256: string; size: number; type: string } | null;
  batch: { agency: string; seq: number; root: string; size: number; index: number };
  anchored: boolean;
  anchor: ReceiptAnchor | null;
  /** With --trust (issue 14). */
  agencyName?: string;
  notaries: { notary: string; name?: string; attestedAt: string }[];
  complete: boolean;
}

/** Display names (issue 14) of a receipt's agency and co-signers. */
export interface Names {
  agency?: string | undefined;
  notaries: Record<string, string>;
}

function namesFrom(trust: import('../src/chain/trust.js').TrustRoot, r: Receipt): Names {
  const notaries: Record<string, string> = {};
  for (const a of r.attestations) {
    const n = sdk.trustName(trust, a.notary);
    if (n) notaries[a.notary] = n;
  }
  return { agency: sdk.trustName(trust, r.record?.agency ?? r.batch.agency), notaries };
}

export function summary(r: Receipt, names?: Names): Summary {
  const media = (r.record as { media?: { sha256: string; size: number; type: string } } | null)?.media;
  const withheld = '(withheld)';
  return {
    record: r.record?.id ?? withheld,
    kind: r.record?.kind ?? withheld,
    agency: r.record?.agency ?? r.batch.agency,
    device: r.record?.device ?? withheld,
    capturedAt: r.record?.capturedAt ?? withheld,
    file: media ? { sha256: media.sha256, size: media.size, type: media.type } : null,
    batch: { agency: r.batch.agency, seq: r.batch.seq, root: r.batch.root, size: r.batch.size, index: r.inclusion.index },
    anchored: r.anchor !== null,
    anchor: r.anchor,
    ...(names?.agency && { agencyName: names.agency }),
    notaries: r.attestations.map((a) => ({
      notary: a.notary,
      ...(names?.notaries[a.notary] && { name: names.notaries[a.notary] }),
      attestedAt: new Date(a.attestedAt * 1000).toISOString(),
    })),
    complete: r.anchor !== null && r.attestations.length > 0,
  };
}

function describe(r: Receipt, names?: Names): string[] {
  const s = summary(r, names);
  const lines = [
    `receipt of record ${s.record} (${s.kind}) — liuhen-receipt/1`,
    `  what      ${s.file ? `a file of ${humanBytes(s.file.size)} (${s.file.size} bytes, ${s.file.type}), SHA-256 ${s.file.sha256}` : 'structured content (no file)'}`,
    `  who       agency ${s.agencyName ? `${s.agencyName} (${s.agency})` : s.agency}, device ${s.device}`,
    `  when      captured ${s.capturedAt}`,
    `  batch     ${s.batch.agency}#${s.batch.seq}: leaf ${s.batch.index + 1} of ${s.batch.size}, root ${s.batch.root}`,
  ];
  if (s.anchor)
    lines.push(
      `  anchored  chain ${s.anchor.chainId}, registry ${s.anchor.registry}, block ${s.anchor.blockNumber} at ${new Date(s.anchor.timestamp * 1000).toISOString()}, tx ${s.anchor.txHash}`,
    );
  else lines.push('  anchored  not yet — run `liuhen receipt upgrade` later');
  if (s.notaries.length > 0) for (const n of s.notaries) lines.push(`  notary    ${n.name ? `${n.name} (${n.notary})` : n.notary}, co-signed ${n.attestedAt}`);
  else lines.push(`  notary    no co-signature yet${s.anchor ? ' — run `liuhen receipt upgrade` later' : ''}`);
  lines.push(
    s.complete
      ? 'complete: verify it with `liuhen verify FILE --receipt R --rpc URL`'
      : 'pending: the summary states what the receipt claims; `liuhen verify` checks it',
  );
  return lines;
}
