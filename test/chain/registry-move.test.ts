/**
 * No silent re-deploy (issue 16.3, 9.2): a data folder whose batches were
 * anchored never moves to another registry on its own — `assessRegistry`
 * (pure), `deploy` and `liuhen start` refuse with REGISTRY_MOVED after
 * config.json was tampered with — and `liuhen registry migrate` moves it
 * deliberately: the old registry stays trusted, the agency's batch chain
 * continues (seq, prevRoot) on the new one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, Wallet } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { assessRegistry, deploy, devAccount, migrateRegistry, type AnchoredDeployment, type RegistryFacts } from '../../src/chain/deploy.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import { paths, readConfig } from '../../src/config.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { openNotary } from '../../src/notary/open.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { chainFor, cli, deployedFolder, providerFor, registryOf, stopAll, tempDir } from './helpers.js';

afterAll(stopAll);

const R1 = getAddress('0x1111111111111111111111111111111111111111');
const R2 = getAddress('0x2222222222222222222222222222222222222222');
const anchoredOn = (registry: string, chainId = 27752, batches = 3): AnchoredDeployment => ({ chainId, registry, batches, lastBlock: 42 });
const facts = (f: Partial<RegistryFacts>): RegistryFacts => ({
  configured: { chainId: 27752, registry: R1 },
  nodeChainId: 27752,
  devChain: true,
  hasCode: {},
  anchored: [],
  ...f,
});
const refusal = (a: ReturnType<typeof assessRegistry>): string => (a.status === 'refuse' ? `${a.error.code}: ${a.error.message}` : a.status);

describe('assessRegistry (pure)', () => {
  it('reuses the configured registry when it is there and holds the anchors', () => {
    expect(assessRegistry(facts({ hasCode: { [R1]: true }, anchored: [anchoredOn(R1)] }))).toEqual({ status: 'ok', registry: R1 });
    expect(assessRegistry(facts({ hasCode: { [R1]: true } }))).toEqual({ status: 'ok', registry: R1 });
  });

  it('deploys when nothing is anchored anywhere (new folder, or no anchor yet)', () => {
    expect(assessRegistry(facts({ configured: undefined }))).toEqual({ status: 'deploy', reason: 'no-registry' });
    expect(assessRegistry(facts({ hasCode: { [R1]: false } }))).toEqual({ status: 'deploy', reason: 'registry-absent' });
    expect(assessRegistry(facts({ configured: { chainId: 1, registry: R1 } }))).toEqual({ status: 'deploy', reason: 'other-chain' });
  });

  it("refuses a changed chain.registry with code-less address while the anchors' registry is still there (the tampered config)", () => {
    const a = assessRegistry(
      facts({ configured: { chainId: 27752, registry: R2 }, hasCode: { [R2]: false, [R1]: true }, anchored: [anchoredOn(R1)] }),
      '/d/config.json',
    );
    expect(a.status).toBe('refuse');
    expect(refusal(a)).toMatch(
      /^REGISTRY_MOVED: \/d\/config\.json names registry 0x2222.*no contract.*3 batch\(es\).*anchored on registry 0x1111.*set chain\.registry back to 0x1111.*liuhen registry migrate/,
    );
  });

  it('refuses a changed chain.registry that points at another (existing) registry', () => {
    const a = assessRegistry(facts({ configured: { chainId: 27752, registry: R2 }, hasCode: { [R2]: true, [R1]: true }, anchored: [anchoredOn(R1)] }));
    expect(refusal(a)).toMatch(/^REGISTRY_MOVED: .*names registry 0x2222.*anchored on registry 0x1111/);
  });

  it("refuses a node of another chain, and a real chain without the anchors' registry (unsynced node)", () => {
    expect(refusal(assessRegistry(facts({ nodeChainId: 1, devChain: false, anchored: [anchoredOn(R1)] })))).toMatch(
      /REGISTRY_MOVED: the node serves chain 1.*point chain\.rpc/,
    );
    const real = facts({
      configured: { chainId: 100, registry: R1 },
      nodeChainId: 100,
      devChain: false,
      hasCode: { [R1]: false },
      anchored: [anchoredOn(R1, 100)],
    });
    expect(refusal(assessRegistry(real))).toMatch(/REGISTRY_MOVED: .*no contract at 0x1111.*not synced/);
  });

  it('the embedded dev chain that lost everything is its own case (redeploy and re-anchor, loudly)', () => {
    expect(assessRegistry(facts({ hasCode: { [R1]: false }, anchored: [anchoredOn(R1)] }))).toEqual({ status: 'dev-chain-reset', lost: [anchoredOn(R1)] });
  });

  it('anchors on registries listed in previousRegistries (a deliberate move) are expected', () => {
    const configured = {
      chainId: 27752,
      registry: R2,
      previousRegistries: [{ registry: R1, chainId: 27752, movedAt: '2026-01-01T00:00:00Z', lastBatches: {} }],
    };
    expect(assessRegistry(facts({ configured, hasCode: { [R2]: true, [R1]: true }, anchored: [anchoredOn(R1), anchoredOn(R2)] }))).toEqual({
      status: 'ok',
      registry: R2,
    });
  });
});

describe('on a real chain', () => {
  it('a tampered config.json: deploy and `liuhen start` refuse with REGISTRY_MOVED, deploy nothing and leave the config as it is', async () => {
    // The folder's own embedded chain (state in <data>/chain/state.json), as `liuhen start` runs it.
    const dataDir = join(tempDir(), 'data');
    Liuhen.init(dataDir, { agency: '310115-ZFJ', device: 'cam-1', officer: 'O-1' });
    const chain = await chainFor({ statePath: join(paths(dataDir).chain, 'state.json') });
    const deployed = await deploy({ dataDir, rpc: chain.rpc });
    const lh = await Liuhen.open(dataDir);
    await lh.recordBody({ event: 'x' });
    await lh.seal();
    await lh.anchor();
    await lh.close();
    const file = paths(dataDir).config;
    const original = deployed.chain.registry!;
    const tampered = Wallet.createRandom().address;
    writeFileSync(file, readFileSync(file, 'utf8').replace(original, tampered));
    const before = readFileSync(file, 'utf8');
    const provider = providerFor(chain);
    const deployerNonce = await provider.getTransactionCount(devAccount(chain.chainId).address);
    try {
      await expect(deploy({ dataDir })).rejects.toSatisfy(
        (e) => isLiuhenError(e, 'REGISTRY_MOVED') && (e as Error).message.includes(`set chain.registry back to ${original}`),
      );
      expect(readFileSync(file, 'utf8')).toBe(before);
      expect(await provider.getTransactionCount(devAccount(chain.chainId).address)).toBe(deployerNonce); // nothing deployed
    } finally {
      provider.destroy();
    }
    await chain.stop(); // state dumped into the folder

    // `liuhen start` loads that state into its embedded chain and refuses the same way, with the coded error.
    const r = await cli(['--data', dataDir, 'start', '--port', '0'], {}, 120_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[REGISTRY_MOVED\]/);
    expect(r.stderr).toContain(original);
    expect(readFileSync(file, 'utf8')).toBe(before);
  }, 180_000);

  it('`liuhen registry migrate`: a new registry, the old one still trusted, the batch chain continues', async () => {
    const chain = await chainFor();
    const folder = await deployedFolder(chain.rpc);
    const agency = readConfig(folder.dataDir).agency;
    let lh = await Liuhen.open(folder.dataDir);
    const first = await lh.recordBody({ event: 'before-move-1' });
    await lh.seal();
    await lh.recordBody({ event: 'before-move-2' });
    await lh.seal();
    await lh.anchor();
    await lh.close();
    const notary = await openNotary({ dataDir: folder.dataDir });
    await notary.runOnce();
    await notary.close();
    const old = folder.deployed.chain.registry!;

    const steps: string[] = [];
    const moved = await migrateRegistry({ dataDir: folder.dataDir, onStep: (s) => steps.push(s.step) });
    expect(steps).toEqual(expect.arrayContaining(['registry-deployed', 'agency-bound', 'notary-granted', 'checkpoint-set']));
    expect(moved.chain.registry).not.toBe(old);
    expect(moved.previous).toMatchObject({ registry: old, chainId: chain.chainId, lastBatches: { [agency]: { seq: 2 } } });
    const config = readConfig(folder.dataDir);
    expect(config.chain!.previousRegistries).toEqual([moved.previous]);

    // The next batch continues the chain on the new registry: seq 3, prevRoot = batch 2.
    lh = await Liuhen.open(folder.dataDir);
    const later = await lh.recordBody({ event: 'after-move' });
    await lh.seal();
    const summary = await lh.anchor();
    expect(summary.newlyAnchored).toBe(1);
    const provider = providerFor(chain);
    const verifier = createChainVerifier({ provider, trustedRegistries: [moved.chain.registry!, old] });
    try {
      const fresh = registryOf({ dataDir: folder.dataDir, deployed: moved }, provider);
      const b3 = await lh.journal.getBatch(agency, 3);
      const b2 = await lh.journal.getBatch(agency, 2);
      expect(await fresh.batch(agency, b3!.root)).toMatchObject({ exists: true, seq: 3, prevRoot: b2!.root });
      expect((await fresh.batch(agency, b2!.root)).exists).toBe(false); // not re-anchored

      // Receipts: the old record's names the old registry and verifies, the new one's the new registry.
      const oldReceipt = await lh.receipt(first.record.id);
      const newReceipt = await lh.receipt(later.record.id);
      expect(oldReceipt.anchor?.registry).toBe(old);
      expect(newReceipt.anchor?.registry).toBe(moved.chain.registry);
      expect((await verifier.checkAnchor(oldReceipt)).status).toBe('pass');
      expect((await verifier.checkNotary(oldReceipt)).status).toBe('pass');
      expect((await verifier.checkAnchor(newReceipt)).status).toBe('pass');
      expect((await verifyReceipt({ receipt: oldReceipt, chain: verifier })).checks.find((c) => c.name === 'anchor')?.status).toBe('pass');
    } finally {
      verifier.close();
      provider.destroy();
      await lh.close();
    }
    // And a plain deploy afterwards reuses the new registry (the old one's anchors are expected).
    const again = await deploy({ dataDir: folder.dataDir });
    expect(again.deployed).toBe(false);
    expect(again.chain.registry).toBe(moved.chain.registry);
  }, 180_000);
});
