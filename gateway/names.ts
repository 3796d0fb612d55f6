import { anchoringAgencies, isLiuhenError, readTrustRoot, trustName, type TrustRoot } from '../src/index.js';
import type { Context } from './context.js';

/**
 * Display names instead of hex (issue 14): 济南市城市管理局 next to JN-CGJ,
 * 济南市泉城公证处 next to the notary's address, on every page, verdict and
 * certificate. Where a name comes from, first match wins:
 * 1. the registry (version 2 `agencyName` / `notaryName`, registered by its
 *    admin: `liuhen deploy --agency-name/--notary-name`, `liuhen start` for its
 *    dev agencies) — what the consortium itself states;
 * 2. the gateway config's `names.agencies` / `names.notaries`;
 * 3. the names of the trust file `names.trustFile` (`liuhen-trust/1`).
 * A name is for display only: no check depends on it, and it is always shown
 * next to the code or address it names, never instead of it.
 */
export interface NameBook {
  /** Agency code → name, for the codes that have one. */
  agencies: Record<string, string>;
  /** Notary address (as asked) → name, for the addresses that have one. */
  notaries: Record<string, string>;
}

export interface NameDirectory {
  resolve(want: { agencies?: Iterable<string>; notaries?: Iterable<string> }): Promise<NameBook>;
  /** The codes and addresses this gateway knows of on its own: its agencies, the supervision body, and everything named in its config or trust file. */
  known(): { agencies: string[]; notaries: string[] };
}

const directories = new WeakMap<Context, NameDirectory>();

/** The name directory of a gateway (created on first use). */
export function namesOf(ctx: Context): NameDirectory {
  let d = directories.get(ctx);
  if (!d) directories.set(ctx, (d = createNameDirectory(ctx)));
  return d;
}

function createNameDirectory(ctx: Context): NameDirectory {
  const cfg = ctx.config.names;
  let trust: TrustRoot | undefined;
  if (cfg.trustFile) {
    try {
      trust = readTrustRoot(cfg.trustFile);
    } catch (e) {
      // The names are for display: a bad trust file must not take verification down, but the operator must hear of it.
      ctx.logger.error('the trust file of names.trustFile is unusable; its names are not shown', {
        code: isLiuhenError(e) ? e.code : undefined,
        message: (e as Error).message,
      });
    }
  }
  const configNotaries = new Map(Object.entries(cfg.notaries).map(([a, n]) => [a.toLowerCase(), n]));
  const local = {
    agency: (code: string) => cfg.agencies[code] ?? trustName(trust, code),
    notary: (address: string) => configNotaries.get(address.toLowerCase()) ?? trustName(trust, address),
  };
  let chainWarned = false;
  const fromChain = async (read: (() => Promise<string | undefined>) | undefined): Promise<string | undefined> => {
    if (!read) return undefined;
    try {
      return await read();
    } catch (e) {
      if (!chainWarned) {
        chainWarned = true;
        ctx.logger.warn('display names unavailable from the registry; using the configured names', { code: isLiuhenError(e) ? e.code : undefined });
      }
      return undefined;
    }
  };
  const source = ctx.chain?.names;

  return {
    async resolve(want) {
      const agencies = [...new Set(want.agencies ?? [])];
      const notaries = [...new Set(want.notaries ?? [])];
      const [a, n] = await Promise.all([
        Promise.all(agencies.map(async (code) => (await fromChain(source && (() => source.agencyName(code)))) ?? local.agency(code))),
        Promise.all(notaries.map(async (addr) => (await fromChain(source && (() => source.notaryName(addr)))) ?? local.notary(addr))),
      ]);
      const book: NameBook = { agencies: {}, notaries: {} };
      agencies.forEach((code, i) => {
        if (a[i]) book.agencies[code] = a[i];
      });
      notaries.forEach((addr, i) => {
        if (n[i]) book.notaries[addr] = n[i];
      });
      return book;
    },
    known() {
      const agencies = new Set([
        ...anchoringAgencies(ctx.liuhen.config),
        ctx.config.supervision.agency,
        ...Object.keys(cfg.agencies),
        ...(trust?.agencies ?? []).map((x) => x.code),
      ]);
      const notaries = new Set([...Object.keys(cfg.notaries), ...(trust?.notaries?.members ?? []).map((m) => m.address)]);
      return { agencies: [...agencies], notaries: [...notaries] };
    },
  };
}
