import type { AuditTrail } from '../../audit/trail.js';

/**
 * Aggregated audit entries for public verdicts (issue 11, goal 1).
 *
 * `GET /v1/verify/:leaf` is the QR target: at public scale (thousands of
 * verdicts a second for one viral case) one audit record per verdict would
 * flood the audit trail — and the route discloses no personal data (agency,
 * kind, times and the verdict only). So its reads are counted per leaf and
 * per minute: the FIRST read of a leaf in a minute is written at once (the
 * trail shows every minute in which a leaf was looked up, even if the
 * gateway dies), and the total of the minute is written when the minute is
 * over (`count`, the number of distinct client addresses, up to 16 named).
 * Every read of personal data (records, receipts, content, cases, …) stays
 * one audit record per request, written before the read is served.
 */
export interface PublicReadAggregator {
  /** Counts one public read of `leaf` (or of an unknown leaf) from `from`. */
  count(leaf: string | null, from: string): void;
  /** Writes the totals of every window (also the current one). */
  flush(): void;
}

const ROUTE = '/v1/verify/:leaf';
const MAX_NAMED = 16;
const MAX_WINDOWS = 100_000;

interface Window {
  minute: string;
  leaf: string;
  count: number;
  from: Set<string>;
  others: number;
}

export function createPublicReadAggregator(audit: AuditTrail, clock: () => Date): PublicReadAggregator {
  const windows = new Map<string, Window>();
  let current = '';

  const entry = (w: Window, count: number, phase: 'access' | 'end') =>
    audit.write({
      who: { token: null, role: null },
      what: { method: 'GET', route: ROUTE, ids: { leaf: w.leaf, minute: w.minute, count: String(count), aggregated: 'true' } },
      when: clock().toISOString(),
      from: [...w.from].join(' ') + (w.others > 0 ? ` +${w.others} more` : ''),
      outcome: { status: 200, complete: true },
      phase,
    });

  const close = (all: boolean) => {
    for (const [k, w] of windows) {
      if (!all && w.minute === current) continue;
      windows.delete(k);
      entry(w, w.count, 'end');
    }
  };

  // Closed minutes are written even when no further read arrives (unref: never keeps the process alive).
  const timer = setInterval(() => close(false), 15_000);
  timer.unref();

  return {
    count(leaf, from) {
      const minute = clock().toISOString().slice(0, 16);
      if (minute !== current) {
        current = minute;
        close(false);
      }
      const key = `${minute}|${leaf ?? 'unknown'}`;
      let w = windows.get(key);
      if (!w) {
        if (windows.size >= MAX_WINDOWS) close(true);
        w = { minute, leaf: leaf ?? 'unknown', count: 0, from: new Set(), others: 0 };
        windows.set(key, w);
        w.from.add(from);
        w.count = 1;
        entry(w, 1, 'access');
        return;
      }
      w.count++;
      if (w.from.has(from)) return;
      if (w.from.size < MAX_NAMED) w.from.add(from);
      else w.others++;
    },
    flush: () => close(true),
  };
}
