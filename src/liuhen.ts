import { existsSync, readFileSync } from 'node:fs';
import { fail } from './errors.js';
import { auditCase, auditDevice, type AnchorTimeLookup, type CaseAudit, type DeviceAudit, type EnrollmentLookup } from './completeness/audit.js';
import type { AuditPolicy } from './completeness/findings.js';
import { anchoringAgencies, configSchema, paths, readConfig, writeConfig, writeSecretFile, type LiuhenConfig } from './config.js';
import { hashFile, type HashProgress } from './hash/stream.js';
import { Journal } from './journal/journal.js';
import type { AppendResult, BatchInfo } from './journal/types.js';
import { DEVICE_PASSPHRASE_ENV, DeviceKey } from './record/device-key.js';
import { parseWith } from './record/parse.js';
import { rfc3339Schema, type Kind, type Location, type RecordDraft, type Stage } from './record/schema.js';
import { receiptFromJournal } from './receipt/build.js';
import type { Receipt } from './receipt/format.js';
import { lookupMediaType } from './util/media-type.js';
import type { Signer } from 'ethers';
import { createAnchorer, type Anchorer, type AnchorerParameters, type AnchorPendingOptions, type AnchorSummary } from './chain/anchorer.js';
import { agencyKey, openKey } from './chain/keys.js';
import { receiptWithChain } from './chain/receipts.js';

export interface InitParameters {
  agency: string;
  device: string;
  officer: string;
}

export interface RecordMeta {
  case?: string | undefined;
  stage?: Stage | undefined;
  kind?: Kind | undefined;
  /** RFC 3339; defaults to now. */
  capturedAt?: string | undefined;
  location?: Location | undefined;
  /** Overrides the configured device/officer (a station recording for several devices). */
  device?: string | undefined;
  officer?: string | undefined;
  /** MIME type; guessed from the file name when absent. */
  type?: string | undefined;
}

/**
 * The SDK's front door for an enforcement app: one data folder, its device
 * key and journal. Chain anchoring, the evidence store and the notary build
 * on the same folder.
 */
export class Liuhen {
  private constructor(
    readonly dataDir: string,
    private current: LiuhenConfig,
    readonly journal: Journal,
    readonly deviceKey: DeviceKey,
  ) {}

  /** The folder's config as last read (see `reloadConfig`). */
  get config(): LiuhenConfig {
    return this.current;
  }

  /** Re-reads config.json, e.g. after `deploy` wrote the chain section while the journal was held open. */
  reloadConfig(): LiuhenConfig {
    this.current = readConfig(this.dataDir);
    return this.current;
  }

  /** Creates the data folder, its config and the device key. Refuses to overwrite an existing folder. */
  static init(dataDir: string, p: InitParameters): LiuhenConfig {
    const dir = paths(dataDir);
    if (existsSync(dir.config)) fail('DATA_DIR_EXISTS', `${dir.root} already holds a Liuhen data folder; use another --data folder`);
    const config: LiuhenConfig = parseWith(
      configSchema,
      { version: 1, agency: p.agency, device: p.device, officer: p.officer },
      'CONFIG_INVALID',
      'init parameters',
    );
    writeSecretFile(dir.deviceKey, DeviceKey.generate().toPem(process.env[DEVICE_PASSPHRASE_ENV] || undefined));
    writeConfig(dataDir, config);
    return config;
  }

  static async open(dataDir: string): Promise<Liuhen> {
    const config = readConfig(dataDir);
    const dir = paths(dataDir);
    if (!existsSync(dir.deviceKey)) fail('KEY_MISSING', `the device key ${dir.deviceKey} is missing`);
    const key = DeviceKey.fromPem(readFileSync(dir.deviceKey, 'utf8'), process.env[DEVICE_PASSPHRASE_ENV] || undefined);
    const journal = await Journal.open(dir.journal);
    return new Liuhen(dir.root, config, journal, key);
  }

  /** Hashes a file (streamed), then journals its record. Resolves once the record is durable. */
  async recordFile(path: string, meta: RecordMeta = {}, onProgress?: (p: HashProgress) => void): Promise<AppendResult & { size: number }> {
    const { sha256, size } = await hashFile(path, { onProgress });
    const type = meta.type ?? lookupMediaType(path);
    const res = await this.append({ ...this.base(meta), kind: meta.kind ?? kindOf(type), media: { type, size, sha256 } });
    return { ...res, size };
  }

  /** Journals structured content (a form, a device event). */
  recordBody(body: Record<string, unknown>, meta: RecordMeta = {}): Promise<AppendResult> {
    return this.append({ ...this.base(meta), kind: meta.kind ?? 'form', body: body as RecordDraft['body'] });
  }

  append(draft: RecordDraft): Promise<AppendResult> {
    return this.journal.append(draft, this.deviceKey);
  }

  private base(meta: RecordMeta): Omit<RecordDraft, 'kind'> {
    const capturedAt = meta.capturedAt === undefined ? new Date().toISOString() : parseWith(rfc3339Schema, meta.capturedAt, 'INVALID_INPUT', 'capture time');
    return {
      agency: this.config.agency,
      device: meta.device ?? this.config.device,
      officer: meta.officer ?? this.config.officer,
      ...(meta.case !== undefined && { case: meta.case }),
      ...(meta.stage !== undefined && { stage: meta.stage }),
      ...(meta.location !== undefined && { location: meta.location }),
      capturedAt,
    };
  }

  /** Seals every pending record into batches (all agencies in this journal). */
  seal(): Promise<BatchInfo[]> {
    return this.journal.sealAll({ maxBatchSize: this.config.seal.maxRecords });
  }

  /**
   * The receipt of a sealed record. With a chain in the config, `anchor` and
   * `attestations` are filled from it — only what the chain confirms now
   * (CHAIN_UNREACHABLE when an anchored batch cannot be confirmed).
   */
  receipt(id: string): Promise<Receipt> {
    const chain = this.config.chain;
    if (!chain?.registry) return receiptFromJournal(this.journal, id);
    return receiptWithChain({ journal: this.journal, chain, id });
  }

  /**
   * An anchorer for this folder's agency (see src/chain/anchorer.ts), signing
   * with the agency keystore `<data>/keys/agency.json` (passphrase from
   * LIUHEN_AGENCY_PASSPHRASE; on a dev chain the file `liuhen deploy` wrote).
   * Run it in-process with `run(signal)` next to `recordFile`/`append`.
   */
  async anchorer(options: Omit<AnchorerParameters, 'journal' | 'config' | 'signer'> & { signer?: Signer; agency?: string } = {}): Promise<Anchorer> {
    const chain = this.config.chain;
    if (!chain?.registry) fail('REGISTRY_MISSING', 'no chain in the config; run `liuhen deploy` first');
    const agency = options.agency ?? this.config.agency;
    if (!anchoringAgencies(this.config).includes(agency))
      fail('AGENCY_NOT_BOUND', `this data folder does not anchor for agency ${agency}; add it to "agencies" in the config and run \`liuhen deploy\``);
    const signer = options.signer ?? (await openKey(agencyKey(this.dataDir, agency), chain.chainId));
    return createAnchorer({ ...options, journal: this.journal, config: { ...this.config, agency }, signer });
  }

  /** Anchors every sealed batch of the agency and waits until each is mined. */
  async anchor(options: AnchorPendingOptions & Pick<AnchorerParameters, 'onEvent'> = {}): Promise<AnchorSummary> {
    const anchorer = await this.anchorer({ onEvent: options.onEvent });
    try {
      return await anchorer.anchorPending(options);
    } finally {
      anchorer.close();
    }
  }

  /** `enrollment` (a trusted registry's device histories) explains key changes by rotations instead of reporting them (issue 13). */
  auditDevice(device: string, policy?: AuditPolicy, anchorTime?: AnchorTimeLookup, enrollment?: EnrollmentLookup): Promise<DeviceAudit> {
    return auditDevice(this.journal, device, policy, anchorTime, enrollment);
  }

  auditCase(caseId: string, policy?: AuditPolicy, anchorTime?: AnchorTimeLookup, enrollment?: EnrollmentLookup): Promise<CaseAudit> {
    return auditCase(this.journal, caseId, policy, anchorTime, enrollment);
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}

function kindOf(type: string): Kind {
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('image/')) return 'photo';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}
