import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { agencySchema, describeIssues, LiuhenError, writeFileAtomic, type Liuhen } from '../../src/index.js';

/**
 * Gateway tokens. A token is `lh_<id>_<secret>`: `id` (16 hex digits) is
 * public and names the token in listings and the audit trail; `secret` is
 * 256 random bits (43 base64url characters). Only SHA-256(token) is kept, in
 * `<dir>/tokens.json` (mode 0600, replaced atomically: write, fsync, rename,
 * fsync the folder). A presented token is compared in constant time.
 */
export const ROLES = ['admin', 'agency', 'notary', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];

export const TOKENS_FORMAT = 'liuhen-gateway-tokens/1';
export const tokenIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be a token id: 16 lowercase hex digits');
export const tokenLabelSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');
const TOKEN_PATTERN = /^lh_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Most tokens a gateway keeps (revoked ones included). */
export const MAX_TOKENS = 10_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const tokenEntrySchema = z.strictObject({
  id: tokenIdSchema,
  role: z.enum(ROLES),
  agency: agencySchema.optional(),
  label: tokenLabelSchema,
  /** SHA-256 of the whole token text, hex. */
  hash: hex64,
  createdAt: z.string().max(40),
  /** Token id of the admin that created it, or "bootstrap"/"dev". */
  createdBy: z.string().max(32),
  revokedAt: z.string().max(40).optional(),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;
/** What listings show: everything but the hash. */
export type TokenInfo = Omit<TokenEntry, 'hash'>;

const fileSchema = z.strictObject({ format: z.literal(TOKENS_FORMAT), tokens: z.array(tokenEntrySchema).max(MAX_TOKENS) });

export interface Principal {
  tokenId: string;
  role: Role;
  agency?: string;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked'; tokenId?: string };

export interface CreateTokenParameters {
  role: Role;
  /** Required for role `agency`, refused for the others. */
  agency?: string;
  label: string;
  createdBy: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const DUMMY = sha256('lh_0000000000000000_dummy');

export class TokenStore {
  private readonly byId = new Map<string, TokenEntry>();
  private writing: Promise<unknown> = Promise.resolve();
  /** SHA-256 (hex) of the token file as last read or written by this store; null while there is none. */
  private fileDigest: string | null = null;
  private readonly persisted: ((digest: string) => Promise<void>)[] = [];

  private constructor(
    readonly dir: string,
    private readonly now: () => Date,
    private readonly existed: boolean,
  ) {}

  /** Opens (creating the folder if needed) the token file in `dir`, e.g. `<data>/gateway`. */
  static async open(dir: string, options: { clock?: () => Date } = {}): Promise<TokenStore> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'tokens.json');
    const existed = existsSync(path);
    const store = new TokenStore(dir, options.clock ?? (() => new Date()), existed);
    if (existed) {
      let raw: unknown;
      try {
        const text = await readFile(path);
        store.fileDigest = createHash('sha256').update(text).digest('hex');
        raw = JSON.parse(text.toString('utf8'));
      } catch (cause) {
        throw new LiuhenError('CONFIG_INVALID', `${path} is not valid JSON`, { cause });
      }
      const r = fileSchema.safeParse(raw);
      if (!r.success) throw new LiuhenError('CONFIG_INVALID', `${path}: ${describeIssues(r.error)}`);
      for (const t of r.data.tokens) store.byId.set(t.id, t);
    }
    return store;
  }

  get path(): string {
    return join(this.dir, 'tokens.json');
  }

  /** SHA-256 (hex) of `tokens.json` as this store last read or wrote it; null when there is no file yet. */
  get digest(): string | null {
    return this.fileDigest;
  }

  /** Called with the new file digest after each change this store writes (awaited before the change resolves). */
  onPersisted(listener: (digest: string) => Promise<void>): void {
    this.persisted.push(listener);
  }

  /**
   * First start: when there was no token file, creates an admin token and
   * returns it (print it once; it is not kept). Later starts return undefined.
   */
  async bootstrap(): Promise<string | undefined> {
    if (this.existed || this.byId.size > 0) return undefined;
    return (await this.create({ role: 'admin', label: 'bootstrap admin', createdBy: 'bootstrap' })).token;
  }

  /** Creates a token; the returned `token` text exists nowhere else. */
  async create(p: CreateTokenParameters): Promise<{ token: string; info: TokenInfo }> {
    if (p.role === 'agency' && !p.agency) throw new LiuhenError('INVALID_INPUT', 'an agency token needs its agency');
    if (p.role !== 'agency' && p.agency !== undefined) throw new LiuhenError('INVALID_INPUT', `a ${p.role} token is not bound to an agency; leave agency out`);
    if (this.byId.size >= MAX_TOKENS) {
      // Make room by forgetting the oldest revoked tokens (they authenticate nothing; the audit trail keeps their ids).
      const revoked = [...this.byId.values()].filter((t) => t.revokedAt).sort((a, b) => a.revokedAt!.localeCompare(b.revokedAt!));
      if (revoked.length === 0) throw new LiuhenError('INVALID_INPUT', `the gateway keeps at most ${MAX_TOKENS} active tokens; revoke some first`);
      for (const t of revoked.slice(0, Math.max(1, revoked.length - MAX_TOKENS / 2))) this.byId.delete(t.id);
    }
    let id: string;
    do id = randomBytes(8).toString('hex');
    while (this.byId.has(id));
    const token = `lh_${id}_${randomBytes(32).toString('base64url')}`;
    const entry: TokenEntry = {
      id,
      role: p.role,
      ...(p.agency !== undefined ? { agency: p.agency } : {}),
      label: p.label,
      hash: sha256(token).toString('hex'),
      createdAt: this.now().toISOString(),
      createdBy: p.createdBy,
    };
    tokenEntrySchema.parse(entry);
    await this.mutate(
      () => this.byId.set(id, entry),
      () => this.byId.delete(id),
    );
    return { token, info: infoOf(entry) };
  }

  /** Revokes a token (kept in the file, marked). Returns its info, or undefined when unknown. Idempotent. */
  async revoke(id: string): Promise<TokenInfo | undefined> {
    const entry = this.byId.get(id);
    if (!entry) return undefined;
    if (entry.revokedAt) return infoOf(entry);
    const revoked = { ...entry, revokedAt: this.now().toISOString() };
    await this.mutate(
      () => this.byId.set(id, revoked),
      () => this.byId.set(id, entry),
    );
    return infoOf(revoked);
  }

  list(): TokenInfo[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)).map(infoOf);
  }

  get(id: string): TokenInfo | undefined {
    const e = this.byId.get(id);
    return e ? infoOf(e) : undefined;
  }

  /** Checks a presented token (hostile input). The hash comparison runs in constant time, also for unknown ids. */
  authenticate(presented: string | undefined): AuthResult {
    if (presented === undefined || presented === '') return { ok: false, reason: 'missing' };
    const m = TOKEN_PATTERN.exec(presented);
    if (!m) {
      timingSafeEqual(DUMMY, DUMMY);
      return { ok: false, reason: 'malformed' };
    }
    const entry = this.byId.get(m[1]!);
    const expected = entry ? Buffer.from(entry.hash, 'hex') : DUMMY;
    const match = timingSafeEqual(sha256(presented), expected) && entry !== undefined;
    if (!match || !entry) return { ok: false, reason: 'unknown' };
    if (entry.revokedAt) return { ok: false, reason: 'revoked', tokenId: entry.id };
    return { ok: true, principal: { tokenId: entry.id, role: entry.role, ...(entry.agency !== undefined ? { agency: entry.agency } : {}) } };
  }

  /** Applies a change in memory and persists it; undoes the change when the write fails. Writes are serialised. */
  private mutate(apply: () => void, undo: () => void): Promise<void> {
    const run = this.writing.then(async () => {
      apply();
      try {
        await this.persist();
      } catch (cause) {
        undo();
        throw new LiuhenError('JOURNAL_IO', 'the token file could not be written', { cause });
      }
      // The change is on disk: its digest goes to the audit trail (listeners log their own failures).
      for (const l of this.persisted) await l(this.fileDigest!).catch(() => undefined);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async persist(): Promise<void> {
    const text = `${JSON.stringify({ format: TOKENS_FORMAT, tokens: [...this.byId.values()] }, null, 2)}\n`;
    await writeFileAtomic(this.path, text, { mode: 0o600 });
    this.fileDigest = createHash('sha256').update(text, 'utf8').digest('hex');
  }
}

// ── the token file's digest in the audit trail ─────────────────────────────

/**
 * `tokens.json` has no integrity protection of its own: whoever can write the
 * data folder can add an admin hash (beyond what Liuhen can defend, see
 * docs/threat-model.md). What Liuhen can do is make such a change visible.
 * At each gateway start the file's SHA-256 is journaled on the audit trail's
 * device chain (signed, sealed and anchored like every audit entry), and so
 * is the digest after every change made through the API. At the next start,
 * a file whose digest is not the last one journaled was changed outside the
 * API: the start entry then carries the finding `TOKENS_CHANGED_OUTSIDE_API`
 * and the caller shows it to the operator.
 *
 * The last digest entry is found through a journal meta key holding its
 * sequence number on the audit chain; the entry itself is read back and must
 * be a `gateway-tokens` event of that chain (the audit device is reserved for
 * the gateway, so an agency cannot write one).
 */
export const TOKENS_CHANGED_OUTSIDE_API = 'TOKENS_CHANGED_OUTSIDE_API';
const LAST_DIGEST_META = 'gateway.tokens.lastDigestSeq';

export interface TokenFileFinding {
  code: typeof TOKENS_CHANGED_OUTSIDE_API;
  severity: 'warning';
  message: string;
  /** Digest journaled last (at the previous start or the last change through the API). */
  expected: string | null;
  /** Digest of the file found now (null: the file is gone). */
  found: string | null;
}

export interface TokenFileAudit {
  /** The digest journaled now, and the finding when the file changed outside the API. */
  digest: string | null;
  finding?: TokenFileFinding;
}

export interface TokenFileAuditOptions {
  /** Audit chain: agency, device and officer of the entries (the gateway config's `audit`). */
  audit?: { agency?: string | undefined; device?: string | undefined; officer?: string | undefined } | undefined;
  clock?: () => Date;
  /** Where a digest that could not be journaled after an API change is reported. */
  onError?: (e: unknown) => void;
}

interface DigestFacts {
  reason: 'start' | 'api';
  digest: string | null;
  finding?: TokenFileFinding;
}

/**
 * The journaled body: an audit entry like every other on the chain (so the
 * audit API and pages list it: what = START/CHANGE of gateway/tokens.json,
 * outcome code = the finding), plus the facts under `tokens`.
 */
interface DigestBody {
  event: 'gateway-tokens';
  who: { token: null; role: null };
  what: { method: 'START' | 'CHANGE'; route: 'gateway/tokens.json'; ids: { digest: string } };
  when: string;
  from: 'gateway';
  outcome: { status: number; code?: string; complete: true };
  tokens: DigestFacts;
}

/** Journals the token file's digest for this start, compares it with the last one journaled, and hooks later API changes. */
export async function auditTokenFile(liuhen: Liuhen, tokens: TokenStore, options: TokenFileAuditOptions = {}): Promise<TokenFileAudit> {
  const agency = options.audit?.agency ?? liuhen.config.agency;
  const device = options.audit?.device ?? 'gateway-audit';
  const officer = options.audit?.officer ?? 'gateway';
  const clock = options.clock ?? (() => new Date());
  const journal = liuhen.journal;

  const journalDigest = async (facts: DigestFacts): Promise<void> => {
    const when = clock().toISOString();
    const body: DigestBody = {
      event: 'gateway-tokens',
      who: { token: null, role: null },
      what: { method: facts.reason === 'start' ? 'START' : 'CHANGE', route: 'gateway/tokens.json', ids: { digest: facts.digest ?? 'none' } },
      when,
      from: 'gateway',
      outcome: { status: facts.finding ? 409 : 200, ...(facts.finding ? { code: facts.finding.code } : {}), complete: true },
      tokens: facts,
    };
    const r = await liuhen.append({
      agency,
      device,
      officer,
      kind: 'event',
      capturedAt: when,
      body: JSON.parse(JSON.stringify(body)) as Record<string, never>,
    });
    await journal.putMeta(LAST_DIGEST_META, String(r.record.seq));
  };

  const last = await lastDigest(liuhen, device);
  const found = tokens.digest;
  let finding: TokenFileFinding | undefined;
  if (last !== undefined && last !== found) {
    finding = {
      code: TOKENS_CHANGED_OUTSIDE_API,
      severity: 'warning',
      message: `${tokens.path} changed outside the token API since the gateway last recorded it (digest ${short(last)} → ${short(found)}): check the tokens it holds (liuhen gateway tokens list), revoke any you did not create`,
      expected: last,
      found,
    };
  }
  await journalDigest({ reason: 'start', digest: found, ...(finding ? { finding } : {}) });
  tokens.onPersisted((digest) =>
    journalDigest({ reason: 'api', digest }).catch((e: unknown) => {
      options.onError?.(e);
      throw e;
    }),
  );
  return { digest: found, ...(finding ? { finding } : {}) };
}

const short = (d: string | null) => (d === null ? 'none' : `${d.slice(0, 12)}…`);

/** The digest of the last `gateway-tokens` entry on the audit chain, or undefined when none was ever journaled. */
async function lastDigest(liuhen: Liuhen, device: string): Promise<string | null | undefined> {
  const at = await liuhen.journal.getMeta(LAST_DIGEST_META);
  const seq = at === undefined ? NaN : Number(at);
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  for await (const s of liuhen.journal.deviceRecords(device, { afterSeq: seq - 1, limit: 1 })) {
    const body = s.record.body as Partial<DigestBody> | undefined;
    if (s.record.seq !== seq || body?.event !== 'gateway-tokens' || body.tokens === undefined) return undefined;
    return typeof body.tokens.digest === 'string' ? body.tokens.digest : null;
  }
  return undefined;
}

function infoOf(e: TokenEntry): TokenInfo {
  const { hash: _hash, ...info } = e;
  return info;
}

/** The four development tokens that `npm start` prints. */
export interface DevTokens {
  admin: string;
  supervisor: string;
  agency: string;
  notary: string;
}

/**
 * Creates one token per role for development (`npm start`), labelled
 * `dev <role>`; earlier dev tokens are revoked first, so only the printed
 * ones work.
 */
export async function createDevTokens(tokens: TokenStore, agency: string): Promise<DevTokens> {
  for (const t of tokens.list()) if (t.createdBy === 'dev' && !t.revokedAt) await tokens.revoke(t.id);
  const make = async (role: Role) => (await tokens.create({ role, label: `dev ${role}`, createdBy: 'dev', ...(role === 'agency' ? { agency } : {}) })).token;
  return { admin: await make('admin'), supervisor: await make('supervisor'), agency: await make('agency'), notary: await make('notary') };
}
