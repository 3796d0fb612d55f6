import { LiuhenError } from '../../../src/index.js';
import type { AuditEntry, AuditTrail } from '../../audit/trail.js';

/**
 * Aggregated audit entries for reads of *aggregate* figures (`GET /v1/stats`).
 *
 * The figures are counts per agency and day, delay histograms and device ids
 * with holes: no record, no case, no personal data. The city's supervision
 * platform polls them; one synced audit record per poll would make the audit
 * trail (and its fsync) the largest cost of the route and bury the reads that
 * matter. So, as for the public verdicts (routes/verify/audit.ts), they are
 * counted per token and minute:
 *   - the FIRST read of a token in a minute is journaled durably before it is
 *     served (phase `access`; if the trail cannot be written the read is
 *     refused with 503 AUDIT_UNAVAILABLE, as for every audited read), so the
 *     trail shows every minute in which a token looked at the figures even if
 *     the gateway dies;
 *   - the total of the minute (`count`, the periods asked, the client
 *     addresses, up to 16 each) is written when the minute is over or when
 *     the gateway drains (phase `end`).
 * Reads of anything that names a case, a record or a person — records,
 * receipts, content, cases, devices, findings — stay one audit record per
 * request, written before the read is served (route.ts).
 */
export interface AggregateReadAudit {
  /** Counts one read; resolves once the minute's access entry is durable (throws AUDIT_UNAVAILABLE when it cannot be written). */
  read(read: AggregateRead): Promise<void>;
  /** Writes the totals of every window (also the current one). */
  flush(): void;
  /** Windows open (tests). */
  readonly open: number;
}

export interface AggregateRead {
  route: string;
  who: AuditEntry['who'];
  from: string;
  /** What was asked, e.g. the period (kept per window, up to 16 distinct). */
  query: string;
  request?: string | undefined;
}

const MAX_NAMED = 16;
const MAX_WINDOWS = 10_000;

interface Window {
  minute: string;
  route: string;
  who: AuditEntry['who'];
  count: number;
  from: Set<string>;
  queries: Set<string>;
  /** The access entry of the minute: every read of the window waits for it. */
  written: Promise<void>;
}

export function createAggregateReadAudit(audit: AuditTrail, clock: () => Date): AggregateReadAudit {
  const windows = new Map<string, Window>();

  const ids = (w: Window, count: number): Record<string, string> => ({
    minute: w.minute,
    count: String(count),
    aggregated: 'true',
    queries: [...w.queries].join(' '),
  });

  const close = (all: boolean) => {
    const minute = clock().toISOString().slice(0, 16);
    for (const [k, w] of windows) {
      if (!all && w.minute === minute) continue;
      windows.delete(k);
      // The first read is on record already; the total says how many followed.
      audit.write({
        who: w.who,
        what: { method: 'GET', route: w.route, ids: ids(w, w.count) },
        when: clock().toISOString(),
        from: [...w.from].join(' '),
        outcome: { status: 200, complete: true },
        phase: 'end',
      });
    }
  };

  // Closed minutes are written even when no further read arrives (unref: never keeps the process alive).
  const timer = setInterval(() => close(false), 15_000);
  timer.unref();

  return {
    async read(r) {
      const minute = clock().toISOString().slice(0, 16);
      const key = `${minute}|${r.route}|${r.who.token ?? ''}`;
      let w = windows.get(key);
      if (!w) {
        close(false);
        if (windows.size >= MAX_WINDOWS) close(true);
        const fresh: Window = {
          minute,
          route: r.route,
          who: r.who,
          count: 0,
          from: new Set([r.from]),
          queries: new Set([r.query]),
          written: Promise.resolve(),
        };
        fresh.written = audit.writeDurable({
          who: r.who,
          what: { method: 'GET', route: r.route, ids: ids(fresh, 1) },
          when: clock().toISOString(),
          from: r.from,
          outcome: { status: 0, complete: false },
          phase: 'access',
          ...(r.request ? { request: r.request } : {}),
        });
        // A failed access entry closes the window unwritten: the next read tries again.
        fresh.written.catch(() => {
          if (windows.get(key) === fresh) windows.delete(key);
        });
        windows.set(key, (w = fresh));
      }
      w.count++;
      if (w.from.size < MAX_NAMED) w.from.add(r.from);
      if (w.queries.size < MAX_NAMED) w.queries.add(r.query);
      try {
        await w.written;
      } catch (cause) {
        throw new LiuhenError('AUDIT_UNAVAILABLE', 'the audit trail cannot be written, so this read is refused; try again later', { cause });
      }
    },
    flush: () => close(true),
    get open() {
      return windows.size;
    },
  };
}
