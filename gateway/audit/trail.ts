import type { Liuhen } from '../../src/index.js';
import { LiuhenError } from '../../src/index.js';
import type { Logger } from '../deps.js';
import type { Role } from '../auth/tokens.js';

/**
 * The audit trail: who read which record or content, every token change and
 * every failed authorisation. Each entry is journaled as a record (kind
 * `event`, its own device chain), so it is sealed into batches and anchored
 * like evidence: a deleted or rewritten entry breaks the chain and shows in
 * `GET /v1/devices/gateway-audit/continuity`.
 */
export interface AuditEntry {
  /** The token id and role, never the token. `presented` says why an authorisation failed. */
  who: { token: string | null; role: Role | null; agency?: string; presented?: 'missing' | 'malformed' | 'unknown' | 'revoked' };
  /** Method, route pattern and the ids it addressed. */
  what: { method: string; route: string; ids: Record<string, string> };
  /** RFC 3339, the gateway's clock when the response ended. */
  when: string;
  /** Client address as Express sees it (see `trustProxy`). */
  from: string;
  /** HTTP status, the error code when it failed, and whether the whole response was delivered. */
  outcome: { status: number; code?: string; complete: boolean };
  /**
   * `access`: written (durably) before a read of evidence is served, so that no
   * read goes unrecorded even if the gateway dies mid-response; `end` (default):
   * the outcome, when the response ended.
   */
  phase?: 'access' | 'end' | undefined;
  /** The request id (X-Request-Id, the access log's req.id, error bodies' requestId). */
  request?: string | undefined;
}

export interface AuditPage {
  entries: (AuditEntry & { seq: number; id: string; leaf: string })[];
  /** Cursor for the next page in the same direction, or null at the end. */
  next: { after: number } | { before: number } | null;
}

export interface AuditTrail {
  /** Queues an entry; never throws (a failure to journal it is logged). */
  write(entry: AuditEntry): void;
  /** Journals an entry and resolves once it is durable; throws when it cannot be written. */
  writeDurable(entry: AuditEntry): Promise<void>;
  /** Resolves when every queued entry is durable. */
  flush(): Promise<void>;
  /** A page of entries: ascending after `after`, or descending before `before` (default: the newest). */
  page(options: { after?: number | undefined; before?: number | undefined; limit: number }): Promise<AuditPage>;
}

export interface JournalAuditOptions {
  agency: string;
  device: string;
  officer: string;
  clock: () => Date;
  logger: Logger;
}

/** The default trail: entries journaled through the SDK facade (signed by the station key). */
export class JournalAuditTrail implements AuditTrail {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly liuhen: Liuhen,
    private readonly options: JournalAuditOptions,
  ) {}

  async writeDurable(entry: AuditEntry): Promise<void> {
    await this.liuhen.append({
      agency: this.options.agency,
      device: this.options.device,
      officer: this.options.officer,
      kind: 'event',
      capturedAt: entry.when,
      body: { event: 'gateway-access', ...clean(entry) },
    });
  }

  write(entry: AuditEntry): void {
    const p = this.writeDurable(entry)
      .catch((e: unknown) => {
        this.options.logger.error('audit entry not journaled', {
          code: e instanceof LiuhenError ? e.code : undefined,
          message: (e as Error)?.message,
          route: entry.what.route,
          status: entry.outcome.status,
        });
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async page(options: { after?: number | undefined; before?: number | undefined; limit: number }): Promise<AuditPage> {
    await this.flush();
    const journal = this.liuhen.journal;
    const device = this.options.device;
    const entries: AuditPage['entries'] = [];
    const push = (s: { record: { seq: number; id: string; body?: unknown }; leaf: string }) => {
      const { event: _event, ...body } = (s.record.body ?? {}) as Record<string, unknown>;
      entries.push({ seq: s.record.seq, id: s.record.id, leaf: s.leaf, ...(body as unknown as AuditEntry) });
    };
    if (options.after !== undefined) {
      for await (const s of journal.deviceRecords(device, { afterSeq: options.after, limit: options.limit })) push(s);
      const last = entries.at(-1)?.seq;
      const head = journal.deviceHead(device)?.seq ?? 0;
      return { entries, next: last !== undefined && last < head ? { after: last } : null };
    }
    const head = journal.deviceHead(device)?.seq ?? 0;
    const before = Math.min(options.before ?? head + 1, head + 1);
    const from = Math.max(before - options.limit - 1, 0);
    for await (const s of journal.deviceRecords(device, { afterSeq: from, limit: before - from - 1 })) push(s);
    entries.reverse();
    const lowest = entries.at(-1)?.seq;
    return { entries, next: lowest !== undefined && lowest > 1 ? { before: lowest } : null };
  }
}

/** JSON-safe copy without undefined members (the record body is JSON, hashed with JCS). */
function clean(entry: AuditEntry): Record<string, never> {
  return JSON.parse(JSON.stringify(entry)) as Record<string, never>;
}
