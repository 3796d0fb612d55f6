/**
 * The fault-injection harness (issue 10): `liuhen start` as a real child
 * process in its own session and process group (setsid), so that
 * `kill -9 -- -PGID` takes the gateway and its Anvil down at once as a power
 * cut would; concurrent uploaders that remember only what was acknowledged
 * (201); a poller that keeps the receipts the gateway served once they were
 * notarized; and the checks that must hold after any fault:
 *
 * - every acknowledged upload is present with its hash;
 * - each is in exactly one batch, anchored, notarized;
 * - every receipt served before the fault still verifies (API verdict
 *   `verified`, and `liuhen verify` exits 0 for a sample);
 * - on chain, each agency's batch sequence has no duplicate and no gap.
 *
 * Used by test/faults/*.test.ts (a few rounds in CI) and scripts/faults.ts
 * (the long campaign). Real processes and signals only; nothing is mocked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { JsonRpcProvider } from 'ethers';
import { RegistryClient } from '../../src/chain/registry.js';

export const BIN = new URL('../../bin/liuhen.js', import.meta.url).pathname;

export interface SystemInfo {
  url: string;
  rpc: string;
  registry: string;
  tokens: Record<'admin' | 'supervisor' | 'agency' | 'notary', string>;
  /** Per agency code (from `<data>/run.json`). */
  agencyTokens: Record<string, string>;
}

export interface RunningLiuhen {
  proc: ChildProcess;
  /** The process group (= the pid: spawned detached, i.e. setsid). */
  pgid: number;
  info: SystemInfo;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  startedInMs: number;
  stderr: () => string;
}

/** A tiny seeded PRNG (mulberry32): the same seed replays the same kill points and upload mix. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

const live = new Set<RunningLiuhen>();
/** Every system still running is killed with this process (each runs in its own group, so nothing else would). */
export function killAllStarted(): void {
  for (const s of live) killGroup(s, 'SIGKILL');
}
process.once('exit', killAllStarted);

/** `liuhen start` in a new session (its own process group), ready once it printed its JSON line. */
export function startLiuhen(dataDir: string, env: Record<string, string> = {}): Promise<RunningLiuhen> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [BIN, '--data', dataDir, '--json', 'start', '--port', '0', '--chain-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // setsid(): a process group of its own, as a service manager would start it
    env: { ...process.env, ...env },
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => {
      const base = JSON.parse(line) as Omit<SystemInfo, 'agencyTokens'>;
      const run = JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8')) as { agencyTokens: Record<string, string> };
      const s: RunningLiuhen = {
        proc,
        pgid: proc.pid!,
        info: { ...base, agencyTokens: run.agencyTokens },
        exited,
        startedInMs: Date.now() - t0,
        stderr: () => err,
      };
      live.add(s);
      void exited.then(() => live.delete(s));
      resolve(s);
    });
    void exited.then(({ code, signal }) => reject(new Error(`liuhen start exited (${code ?? signal}) before it was ready: ${err.slice(-3000)}`)));
  });
}

/** kill -SIG -- -PGID: the whole process group (the gateway and its Anvil). */
export function killGroup(s: RunningLiuhen, signal: NodeJS.Signals): void {
  try {
    process.kill(-s.pgid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGKILL of the whole group; resolves once the group is gone (no Anvil left holding the port or the state). */
export async function crash(s: RunningLiuhen): Promise<void> {
  killGroup(s, 'SIGKILL');
  await s.exited;
  await until('the process group to be gone', () => (groupAlive(s.pgid) ? undefined : true), 20_000, 50);
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export const api =
  (url: string, token?: string) =>
  (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      signal: init.signal ?? AbortSignal.timeout(30_000),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
    });

/**
 * The checker's client: it reads every acknowledged record back, far above the gateway's default rate limits,
 * so a 429 is waited out (Retry-After, at most 5 s a time) instead of being taken for a lost record.
 */
export const patientApi =
  (url: string, token?: string) =>
  async (path: string, init: RequestInit = {}): Promise<Response> => {
    const call = api(url, token);
    for (let attempt = 0; ; attempt++) {
      const res = await call(path, init);
      if (res.status !== 429 || attempt >= 60) return res;
      await res.arrayBuffer();
      const wait = Math.min(5, Math.max(0.2, Number(res.headers.get('retry-after')) || 1));
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  };

export interface Acked {
  id: string;
  agency: string;
  sha256: string;
  file: string;
}

export interface Served {
  id: string;
  receipt: unknown;
  /** Fault round during which it was served (it must survive every later fault). */
  round: number;
}

/**
 * The ledger of a fault run: what was acknowledged and which receipts were
 * served. Only 201 answers count; an upload cut by a crash is not owed.
 */
export class Ledger {
  readonly acked = new Map<string, Acked>();
  readonly served = new Map<string, Served>();
  attempts = 0;
  failed = 0;
  round = 0;

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'files'), { recursive: true });
  }

  /** The file kept on the side for `liuhen verify`. */
  keep(bytes: Buffer): string {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const file = join(this.dir, 'files', sha);
    if (!existsSync(file)) writeFileSync(file, bytes);
    return file;
  }
}

/**
 * Uploaders against whatever system is current (`target()` changes across
 * restarts): each loops until stopped, one upload at a time.
 */
export function uploaders(p: { ledger: Ledger; target: () => RunningLiuhen | undefined; count: number; agencies: string[]; random: () => number }): {
  stop: () => Promise<void>;
} {
  let stopped = false;
  const loop = async (k: number) => {
    const agency = p.agencies[k % p.agencies.length]!;
    let n = 0;
    while (!stopped) {
      const sys = p.target();
      if (!sys) {
        await sleep(100);
        continue;
      }
      const token = sys.info.agencyTokens[agency];
      const bytes = Buffer.concat([Buffer.from(`upload ${k}/${n++} `), randomBytes(64 + Math.floor(p.random() * 2048))]);
      const form = new FormData();
      form.append(
        'meta',
        JSON.stringify({
          device: `FAULT-${k}`,
          officer: `3701${String(k).padStart(4, '0')}`,
          case: `FAULT-${k % 3}`,
          stage: 'onsite',
          kind: 'photo',
          capturedAt: new Date().toISOString(),
        }),
      );
      form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'p.jpg');
      p.ledger.attempts++;
      try {
        const res = await api(sys.info.url, token)('/v1/records', { method: 'POST', body: form });
        if (res.status === 201) {
          const body = (await res.json()) as { id: string; sha256: string };
          p.ledger.acked.set(body.id, { id: body.id, agency, sha256: body.sha256, file: p.ledger.keep(bytes) });
        } else {
          p.ledger.failed++;
          await res.arrayBuffer().catch(() => undefined);
          await sleep(100);
        }
      } catch {
        p.ledger.failed++; // connection refused or cut by a crash: not acknowledged, not owed
        await sleep(100);
      }
    }
  };
  const loops = Array.from({ length: p.count }, (_, k) => loop(k));
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/**
 * Keeps the receipts the gateway serves as notarized (the first one per
 * record), polling a few records at a time so it costs the system little.
 */
export function receiptPoller(p: { ledger: Ledger; target: () => RunningLiuhen | undefined; perTick?: number }): {
  stop: () => Promise<void>;
  pollOnce: () => Promise<void>;
} {
  let stopped = false;
  let cursor = 0;
  const pollOnce = async () => {
    const sys = p.target();
    if (!sys) return;
    const waiting = [...p.ledger.acked.values()].filter((a) => !p.ledger.served.has(a.id));
    if (waiting.length === 0) return;
    const sup = api(sys.info.url, sys.info.tokens.supervisor);
    // Half the newest (the receipts a crash is about to hit), half round-robin over the rest.
    const perTick = p.perTick ?? 8;
    const picks = new Set(waiting.slice(-Math.ceil(perTick / 2)));
    for (let i = 0; picks.size < Math.min(perTick, waiting.length) && i < perTick; i++) picks.add(waiting[cursor++ % waiting.length]!);
    for (const a of picks) {
      try {
        const rec = (await (await sup(`/v1/records/${a.id}`)).json()) as { chain?: { notarized?: boolean } | null };
        if (!rec.chain?.notarized) continue;
        const res = await sup(`/v1/records/${a.id}/receipt`);
        if (res.status !== 200) continue;
        const receipt = (await res.json()) as { attestations?: unknown[]; anchor?: unknown };
        if (receipt.anchor && (receipt.attestations?.length ?? 0) > 0) p.ledger.served.set(a.id, { id: a.id, receipt, round: p.ledger.round });
      } catch {
        /* the system is down: try later */
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await pollOnce();
      await sleep(200);
    }
  })();
  return {
    pollOnce,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

export interface CheckReport {
  acked: number;
  lost: string[];
  notNotarized: string[];
  served: number;
  /** Served receipts that no longer verify (a retracted promise: the worst outcome). */
  retracted: Array<{ id: string; round: number; status: string; detail?: unknown }>;
  cliChecked: number;
  cliFailures: Array<{ id: string; status: number | null; out: string }>;
  chain: Record<string, { batches: number; duplicates: number[]; gaps: number[] }>;
  recoveryMs: number;
}

/**
 * After a fault and a restart: waits (up to `timeoutMs`) for every
 * acknowledged record to be notarized, then checks everything.
 */
export async function checkAll(p: {
  sys: RunningLiuhen;
  ledger: Ledger;
  dataDir: string;
  timeoutMs?: number;
  cliSample?: number;
  random?: () => number;
}): Promise<CheckReport> {
  const { sys, ledger } = p;
  const t0 = Date.now();
  const sup = patientApi(sys.info.url, sys.info.tokens.supervisor);
  const acked = [...ledger.acked.values()];
  const lost: string[] = [];
  const pending = new Set<string>();
  for (const a of acked) {
    const res = await sup(`/v1/records/${a.id}`);
    if (res.status === 404) {
      lost.push(a.id);
      continue;
    }
    const body = (await res.json()) as { record?: { media?: { sha256?: string } }; chain?: { notarized?: boolean } | null };
    if (body.record?.media?.sha256 !== a.sha256) lost.push(a.id);
    if (!body.chain?.notarized) pending.add(a.id);
  }
  // Every acknowledged record ends notarized: wait for the reconcilers (anchorer, notary).
  const deadline = Date.now() + (p.timeoutMs ?? 120_000);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      try {
        const body = (await (await sup(`/v1/records/${id}`)).json()) as { chain?: { notarized?: boolean } | null };
        if (body.chain?.notarized) pending.delete(id);
      } catch {
        /* retry */
      }
    }
    if (pending.size > 0) await sleep(500);
  }
  const recoveryMs = Date.now() - t0;

  // Served receipts, as they were served before the fault(s).
  const retracted: CheckReport['retracted'] = [];
  for (const s of ledger.served.values()) {
    const a = ledger.acked.get(s.id)!;
    const res = await patientApi(sys.info.url)('/v1/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receipt: s.receipt, sha256: a.sha256 }),
    });
    const v = (await res.json()) as { status?: string; checks?: unknown };
    if (v.status !== 'verified') retracted.push({ id: s.id, round: s.round, status: v.status ?? `HTTP ${res.status}`, detail: v.checks });
  }

  // `liuhen verify` (exit 0) for a sample of served receipts, the oldest and the newest first.
  const served = [...ledger.served.values()];
  const random = p.random ?? Math.random;
  const sample =
    served.length <= (p.cliSample ?? 3)
      ? served
      : [served[0]!, served[served.length - 1]!, ...Array.from({ length: (p.cliSample ?? 3) - 2 }, () => served[Math.floor(random() * served.length)]!)];
  const cliFailures: CheckReport['cliFailures'] = [];
  for (const s of sample) {
    const a = ledger.acked.get(s.id)!;
    const receiptFile = join(ledger.dir, `receipt-${s.id}.json`);
    writeFileSync(receiptFile, JSON.stringify(s.receipt));
    const r = spawnSync(process.execPath, [BIN, '--data', p.dataDir, 'verify', a.file, '--receipt', receiptFile, '--rpc', sys.info.rpc], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) cliFailures.push({ id: s.id, status: r.status, out: `${r.stdout}\n${r.stderr}`.slice(-1500) });
  }

  // On chain: per agency, seq 1..n each exactly once.
  const chain: CheckReport['chain'] = {};
  const provider = new JsonRpcProvider(sys.info.rpc, undefined, { staticNetwork: true });
  try {
    const registry = new RegistryClient(sys.info.registry, provider);
    for (const agency of Object.keys(sys.info.agencyTokens)) {
      const logs = await registry.anchorLogs(agency, 0);
      const seqs = logs.map((l) => Number(l.seq)).sort((x, y) => x - y);
      const duplicates = seqs.filter((s, i) => i > 0 && seqs[i - 1] === s);
      const max = seqs.length > 0 ? seqs[seqs.length - 1]! : 0;
      const have = new Set(seqs);
      const gaps: number[] = [];
      for (let s = 1; s <= max; s++) if (!have.has(s)) gaps.push(s);
      chain[agency] = { batches: have.size, duplicates, gaps };
    }
  } finally {
    provider.destroy();
  }
  return {
    acked: acked.length,
    lost,
    notNotarized: [...pending],
    served: ledger.served.size,
    retracted,
    cliChecked: sample.length,
    cliFailures,
    chain,
    recoveryMs,
  };
}

/** The report's verdict: everything owed is there, nothing served was retracted, no duplicate or gap on chain. */
export function problems(r: CheckReport): string[] {
  const out: string[] = [];
  if (r.lost.length > 0) out.push(`${r.lost.length} acknowledged upload(s) lost: ${r.lost.slice(0, 5).join(', ')}`);
  if (r.notNotarized.length > 0) out.push(`${r.notNotarized.length} acknowledged upload(s) not notarized: ${r.notNotarized.slice(0, 5).join(', ')}`);
  if (r.retracted.length > 0) out.push(`${r.retracted.length} served receipt(s) no longer verify: ${JSON.stringify(r.retracted.slice(0, 2)).slice(0, 1500)}`);
  if (r.cliFailures.length > 0)
    out.push(`liuhen verify failed for ${r.cliFailures.length} served receipt(s): ${JSON.stringify(r.cliFailures[0]).slice(0, 1500)}`);
  for (const [agency, c] of Object.entries(r.chain)) {
    if (c.duplicates.length > 0) out.push(`agency ${agency}: batch seq anchored twice: ${c.duplicates.join(', ')}`);
    if (c.gaps.length > 0) out.push(`agency ${agency}: gap in the batch seqs: ${c.gaps.join(', ')}`);
  }
  return out;
}

/** The component states of `/healthz` by name. */
export async function components(
  sys: RunningLiuhen,
): Promise<{ status: string; reasons: string[]; byName: Record<string, { status: string; detail: string; data?: Record<string, unknown> }> }> {
  const h = (await (await api(sys.info.url)('/healthz')).json()) as {
    status: string;
    reasons: string[];
    checks: { components?: Array<{ name: string; status: string; detail: string; data?: Record<string, unknown> }> };
  };
  const byName: Record<string, { status: string; detail: string; data?: Record<string, unknown> }> = {};
  for (const c of h.checks.components ?? []) byName[c.name] = c;
  return { status: h.status, reasons: h.reasons, byName };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
