/**
 * Issue 10.3 and 10.4 at the level of the embedded chain itself (real Anvil
 * processes, real signals): the state file can never be torn, a damaged one
 * falls back to the previous snapshot, nothing usable starts an empty chain
 * that says so, and a killed chain is restarted from its last snapshot.
 *
 * The whole-system variants (`liuhen start` over a torn / empty state with
 * served receipts) are in system-faults.test.ts.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HDNodeWallet, JsonRpcProvider, Mnemonic } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import {
  anvilBinaryPath,
  exitStatePath,
  previousStatePath,
  startAnvil,
  superviseAnvil,
  type ChainStateEvent,
  type ChainSupervisorEvent,
  type EmbeddedChain,
  type SupervisedChain,
} from '../../src/chain/anvil.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('liuhen-chainstate-');
const open: Array<EmbeddedChain | SupervisedChain> = [];
afterAll(async () => {
  for (const c of open) await c.stop().catch(() => undefined);
  tmp.cleanup();
});

let n = 0;
const folder = () => join(tmp.dir, `c${n++}`);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `count` blocks of plain transfers from dev account 0 (automine: one block each). */
async function mine(rpc: string, count: number): Promise<number> {
  const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true });
  try {
    const w = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase('test test test test test test test test test test test junk'), "m/44'/60'/0'/0/0").connect(
      provider,
    );
    let nonce = await provider.getTransactionCount(w.address, 'pending');
    for (let i = 0; i < count; i++) await (await w.sendTransaction({ to: w.address, value: 1n, nonce: nonce++ })).wait();
    // Not provider.getBlockNumber(): ethers caches it for a polling interval.
    return Number(await provider.send('eth_blockNumber', []));
  } finally {
    provider.destroy();
  }
}

const blockNumber = async (rpc: string) => {
  const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true });
  try {
    return Number(await provider.send('eth_blockNumber', []));
  } finally {
    provider.destroy();
  }
};

const isSnapshot = (path: string) => {
  const parsed = JSON.parse(readFileSync(path, 'utf8'));
  return typeof parsed.best_block_number === 'number';
};

describe('the embedded chain state (issue 10.3)', () => {
  it('is written atomically while the chain runs, the previous snapshot kept', async () => {
    const dir = folder();
    const statePath = join(dir, 'state.json');
    const events: ChainStateEvent[] = [];
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 0.2, onStateEvent: (e) => events.push(e) });
    open.push(chain);
    expect(chain.stateSource).toBe('new');
    await mine(chain.rpc, 3);
    await chain.saveState();
    expect(chain.state()).toMatchObject({ source: 'new', savedBlock: 3, lastError: null });
    await mine(chain.rpc, 2);
    await chain.saveState();
    expect(chain.state().savedBlock).toBe(5);
    expect(isSnapshot(statePath)).toBe(true);
    expect(isSnapshot(previousStatePath(statePath))).toBe(true);
    expect(JSON.parse(readFileSync(previousStatePath(statePath), 'utf8')).best_block_number).toBeLessThan(5);
    // No temporary file is left behind, and the snapshot is private.
    expect(readdirSync(dir).sort()).toEqual(['state.json', 'state.prev.json']);
    expect(statSync(statePath).mode & 0o077).toBe(0);
    await chain.stop();
    expect(events.some((e) => e.type === 'state-saved')).toBe(true);
  });

  it('a clean stop writes a last snapshot: a restart continues at the same head', async () => {
    const statePath = join(folder(), 'state.json');
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
    const head = await mine(chain.rpc, 4);
    await chain.stop();
    const again = await startAnvil({ port: 0, statePath });
    open.push(again);
    expect(again.stateSource).toBe('current');
    expect(await blockNumber(again.rpc)).toBe(head);
    await again.stop();
  });

  it('Ctrl-C reaching Anvil between two snapshots loses nothing: its exit dump replaces the older snapshot', async () => {
    const statePath = join(folder(), 'state.json');
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
    await mine(chain.rpc, 2);
    await chain.saveState();
    const head = await mine(chain.rpc, 3);
    process.kill(chain.pid, 'SIGINT'); // the terminal's Ctrl-C, not chain.stop(): no last snapshot by Liuhen
    await chain.exited;
    expect(JSON.parse(readFileSync(statePath, 'utf8')).best_block_number).toBe(2);
    const again = await startAnvil({ port: 0, statePath });
    open.push(again);
    expect(again.stateSource).toBe('current');
    expect(await blockNumber(again.rpc)).toBe(head);
    expect(existsSync(exitStatePath(statePath))).toBe(false);
    await again.stop();
  });

  it('a torn state.json (cut in half) falls back to state.prev.json and is kept aside', async () => {
    const dir = folder();
    const statePath = join(dir, 'state.json');
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
    await mine(chain.rpc, 3);
    await chain.saveState();
    await mine(chain.rpc, 3);
    await chain.saveState();
    await chain.stop();
    const prevHead = JSON.parse(readFileSync(previousStatePath(statePath), 'utf8')).best_block_number as number;
    rmSync(exitStatePath(statePath)); // as after a kill -9: Anvil wrote no exit dump
    truncateSync(statePath, Math.floor(statSync(statePath).size / 2));

    const events: ChainStateEvent[] = [];
    const again = await startAnvil({ port: 0, statePath, onStateEvent: (e) => events.push(e) });
    open.push(again);
    expect(again.stateSource).toBe('previous');
    expect(await blockNumber(again.rpc)).toBe(prevHead);
    expect(events).toContainEqual(expect.objectContaining({ type: 'state-damaged', path: statePath }));
    expect(readdirSync(dir).some((f) => f.startsWith('state.json.damaged-'))).toBe(true);
    // It goes on: new blocks are saved over the fallback.
    await mine(again.rpc, 1);
    await again.saveState();
    expect(isSnapshot(statePath)).toBe(true);
    await again.stop();
  });

  it('empty state files (both) start an empty chain that says its state was lost', async () => {
    const dir = folder();
    const statePath = join(dir, 'state.json');
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
    await mine(chain.rpc, 2);
    await chain.saveState();
    await mine(chain.rpc, 1);
    await chain.stop();
    writeFileSync(statePath, '');
    writeFileSync(previousStatePath(statePath), '');
    writeFileSync(exitStatePath(statePath), '');

    const again = await startAnvil({ port: 0, statePath });
    open.push(again);
    expect(again.stateSource).toBe('lost');
    expect(again.state().source).toBe('lost');
    expect(await blockNumber(again.rpc)).toBe(0);
    await again.stop();
  });

  it('a state file Anvil refuses (valid JSON, wrong content) is moved aside too', async () => {
    const dir = folder();
    const statePath = join(dir, 'state.json');
    const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
    await mine(chain.rpc, 2);
    await chain.stop();
    const good = JSON.parse(readFileSync(statePath, 'utf8'));
    writeFileSync(statePath, JSON.stringify({ ...good, accounts: 'not accounts' }));
    const again = await startAnvil({ port: 0, statePath });
    open.push(again);
    // state.json is refused by Anvil; state.prev.json does not exist yet (one snapshot only): empty and lost.
    expect(again.stateSource).toBe('lost');
    expect(existsSync(statePath)).toBe(false);
    await again.stop();
  });
});

describe('the embedded chain under supervision (issue 10.4)', () => {
  it('a SIGKILLed chain is restarted on the same port from its last snapshot', async () => {
    const statePath = join(folder(), 'state.json');
    const events: ChainSupervisorEvent[] = [];
    const sup = await superviseAnvil({ port: 0, statePath, stateInterval: 0.2, backoff: { initialMs: 100 }, onEvent: (e) => events.push(e) });
    open.push(sup);
    const head = await mine(sup.rpc, 3);
    await sup.saveState();
    const pid = sup.current()!.pid;
    process.kill(pid, 'SIGKILL');
    await until('a restart', () => (sup.health().restarts === 1 && sup.health().state === 'up' ? true : undefined));
    expect(sup.current()!.pid).not.toBe(pid);
    expect(await blockNumber(sup.rpc)).toBe(head);
    expect(events.map((e) => e.type)).toEqual(['chain-exited', 'chain-restarted']);
    expect(sup.health()).toMatchObject({ state: 'up', restarts: 1, failures: 1, lastExit: { code: 'SIGKILL' } });
    await sup.stop();
    expect(sup.health().state).toBe('stopped');
  });

  it('keeps trying with backoff and raises chain-failing while restarts fail; recovers once the cause is gone', async () => {
    const dir = folder();
    const statePath = join(dir, 'state.json');
    // A wrapper that fails while a flag file exists (a chain that keeps crashing at start).
    const flag = join(dir, 'broken');
    const wrapper = join(tmp.dir, `anvil-wrapper-${n++}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\n[ -e '${flag}' ] && { echo 'simulated failure' >&2; exit 3; }\nexec '${anvilBinaryPath()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const events: ChainSupervisorEvent[] = [];
    const sup = await superviseAnvil({
      port: 0,
      statePath,
      binary: wrapper,
      backoff: { initialMs: 50, maxMs: 200 },
      alertAfter: 3,
      onEvent: (e) => events.push(e),
    });
    open.push(sup);
    writeFileSync(flag, '');
    process.kill(sup.current()!.pid, 'SIGKILL');
    await until('the alert', () => (sup.health().state === 'failing' ? true : undefined));
    expect(events.find((e) => e.type === 'chain-failing')).toMatchObject({ failures: 3 });
    expect(sup.health().lastError).toMatch(/simulated failure|exited \(3\)/);
    rmSync(flag);
    await until('recovery', () => (sup.health().state === 'up' ? true : undefined));
    expect(await blockNumber(sup.rpc)).toBeGreaterThanOrEqual(0);
    await sup.stop();
  });
});
