import { join } from 'node:path';
import { SupervisionStats, type BatchInfo, type ChainFacts, type RecordDraft } from '../../../src/index.js';
import { chainStatus, type Context } from '../../context.js';
import { supervisionConfigSchema, type SupervisionConfig } from './config.js';
import { PhoneVault } from '../feedback/phone.js';
import { createAggregateReadAudit, type AggregateReadAudit } from './audit.js';

export { supervisionConfigSchema, type SupervisionConfig };

/**
 * The supervision body (市司法局) inside the gateway: the statistics index
 * over the journal, and the journaling of its own decisions.
 *
 * Who journals what: the supervision body is an agency of its own
 * (`supervision.agency`), with one device chain for supervisors' decisions
 * (actions on findings, feedback steps) and one for citizens' feedback. An
 * agency's batch never carries them, so no enforcement agency controls when
 * (or whether) what was said about it gets anchored. Anchor the supervision
 * agency like any other: list it under `agencies` in the data folder's
 * config (`liuhen start` does for a fresh folder).
 */

interface Supervision {
  config: SupervisionConfig;
  stats: Promise<SupervisionStats>;
  vault?: Promise<PhoneVault>;
}

const bodies = new WeakMap<Context, Supervision>();

export function supervisionConfig(ctx: Context): SupervisionConfig {
  return (ctx.config as { supervision?: SupervisionConfig }).supervision ?? supervisionConfigSchema.parse({});
}

/** The index lives in `<data>/supervision/stats`: derived, rebuildable (delete the folder and it is recomputed from the journal). */
export const statsDir = (dataDir: string): string => join(dataDir, 'supervision', 'stats');

function supervision(ctx: Context): Supervision {
  let s = bodies.get(ctx);
  if (!s) {
    const config = supervisionConfig(ctx);
    const chainFacts = async (batch: BatchInfo): Promise<ChainFacts | undefined> => {
      if (!ctx.chain) return undefined;
      const st = await chainStatus(ctx, batch);
      if (st.chainError) return undefined;
      const notarizedAt = st.attestations.reduce<number | undefined>((m, a) => (m === undefined ? a.attestedAt : Math.max(m, a.attestedAt)), undefined);
      return {
        ...(st.anchor ? { anchoredAt: st.anchor.timestamp } : {}),
        notarized: st.notarized,
        ...(st.notarized && notarizedAt !== undefined ? { notarizedAt } : {}),
      };
    };
    const stats = SupervisionStats.open({
      journal: ctx.journal,
      dir: statsDir(ctx.dataDir),
      policy: ctx.policy,
      supervisionAgency: config.agency,
      excludeDevices: [ctx.config.audit.device],
      chainFacts,
      utcOffsetMinutes: config.utcOffsetMinutes,
    });
    s = { config, stats };
    bodies.set(ctx, s);
    stats.catch(() => bodies.delete(ctx));
  }
  return s;
}

/**
 * The index, caught up with the journal — or, when catching up takes longer
 * than `catchUpWaitMs` (a burst of ingest), as far as it got: every figure
 * says the journal position it covers (`asOf`). `full` waits for all of it
 * (after the gateway itself journaled a decision the caller wants to see).
 */
export async function stats(ctx: Context, full = false): Promise<SupervisionStats> {
  const s = await supervision(ctx).stats;
  const run = s.catchUp();
  if (full) await run;
  else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([run, new Promise((r) => (timer = setTimeout(r, supervisionConfig(ctx).catchUpWaitMs)))]);
    clearTimeout(timer);
    run.catch((e: unknown) => ctx.logger.warn('supervision statistics could not catch up', { message: (e as Error)?.message }));
  }
  return s;
}

/** The phone vault (per-feedback keys of phone numbers), opened on first use. */
export function phoneVault(ctx: Context): Promise<PhoneVault> {
  const s = supervision(ctx);
  s.vault ??= PhoneVault.open(ctx.dataDir);
  return s.vault;
}

const aggregates = new WeakMap<Context, AggregateReadAudit>();
/** The per-app audit of aggregate reads (`GET /v1/stats`): per token and minute, see audit.ts. */
export function aggregateReads(ctx: Context): AggregateReadAudit {
  let a = aggregates.get(ctx);
  if (!a) {
    a = createAggregateReadAudit(ctx.audit, ctx.clock);
    aggregates.set(ctx, a);
  }
  return a;
}

/** Closes the index and the phone vault (the gateway's drain); the next request opens them again. */
export async function closeSupervision(ctx: Context): Promise<void> {
  // The open minutes of aggregate reads are written before the drain ends (nothing counted is lost on a clean stop).
  const a = aggregates.get(ctx);
  if (a) {
    a.flush();
    await ctx.audit.flush();
  }
  const s = bodies.get(ctx);
  if (!s) return;
  bodies.delete(ctx);
  const opened = await s.stats.catch(() => undefined);
  await opened?.close();
  const vault = await s.vault?.catch(() => undefined);
  await vault?.close();
}

/** Journals one of the supervision body's own records on one of its device chains (signed by the gateway's station key). */
export async function journalSupervision(
  ctx: Context,
  device: 'decisionsDevice' | 'feedbackDevice' | 'certificatesDevice',
  officer: string,
  body: Record<string, unknown>,
  id?: string,
): Promise<{ id: string; leaf: string; seq: number; capturedAt: string; record: import('../../../src/index.js').LiuhenRecord }> {
  const config = supervisionConfig(ctx);
  const capturedAt = ctx.clock().toISOString();
  const draft: RecordDraft = {
    ...(id ? { id } : {}),
    agency: config.agency,
    device: config[device],
    officer,
    kind: 'event',
    capturedAt,
    body: JSON.parse(JSON.stringify(body)) as RecordDraft['body'],
  };
  const r = await ctx.liuhen.append(draft);
  return { id: r.record.id, leaf: r.leaf, seq: r.record.seq, capturedAt, record: r.record };
}
