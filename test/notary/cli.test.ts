/**
 * `liuhen notary` as a child process (`node bin/liuhen.js …`) against an Anvil
 * this file starts, with a data folder prepared here: config.json with the
 * chain settings, the registry deployed with ethers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Contract, ContractFactory, encodeBytes32String, id, JsonRpcProvider, keccak256, NonceManager, parseEther, toUtf8Bytes, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { ANVIL_KEYS, startAnvil, type Anvil } from './anvil.js';
import { tempDirs } from './temp.js';

const REPO = resolve(import.meta.dirname, '../..');
const PASSPHRASE = 'notary passphrase for the cli test';
const AGENCY = '310115-ZFJ';

const dirs = tempDirs();
const children = new Set<ChildProcess>();
let anvil: Anvil;
let provider: JsonRpcProvider;
let admin: NonceManager;
let agency: NonceManager;
let registry: Contract;
let data: string;
let notaryAddress: string;
let batchCounter = 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const { LIUHEN_NOTARY_PASSPHRASE: _drop, LIUHEN_DATA: _drop2, ...base } = process.env;
  const child = spawn(process.execPath, [join(REPO, 'bin/liuhen.js'), ...args], { cwd: REPO, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = startCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  return new Promise((res) => child.once('close', (code) => res({ code, stdout, stderr })));
}

async function anchorNext(o: { first?: number; last?: number } = {}): Promise<string> {
  const root = keccak256(toUtf8Bytes(`cli-batch-${++batchCounter}`));
  const now = (await provider.getBlock('latest'))!.timestamp;
  const [, prev] = await registry.latest(encodeBytes32String(AGENCY));
  await (await (registry.connect(agency) as Contract).anchor(root, 3, prev, o.first ?? now - 30, o.last ?? now - 1)).wait();
  return root;
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  anvil = await startAnvil();
  provider = new JsonRpcProvider(anvil.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
  admin = new NonceManager(new Wallet(ANVIL_KEYS[0], provider));
  agency = new NonceManager(new Wallet(ANVIL_KEYS[1], provider));
  const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, admin);
  const deployed = await factory.deploy(await admin.getAddress());
  const receipt = await deployed.deploymentTransaction()!.wait();
  registry = deployed as Contract;
  await (await registry.bindAgency(await agency.getAddress(), encodeBytes32String(AGENCY))).wait();
  data = dirs.make('cli');
  const { chainId } = await provider.getNetwork();
  writeFileSync(
    join(data, 'config.json'),
    JSON.stringify({
      version: 1,
      agency: AGENCY,
      device: 'BWC-0001',
      officer: '31011500123',
      chain: { rpc: anvil.url, chainId: Number(chainId), registry: await registry.getAddress(), confirmations: 1, deployBlock: receipt!.blockNumber },
    }),
  );
}, 60_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  anvil?.stop();
  provider?.destroy();
  dirs.cleanup();
});

describe('liuhen notary (CLI, Anvil)', () => {
  it('notary init creates the key and prints its address', async () => {
    const r = await cli(['notary', 'init', '--data', data, '--json'], { LIUHEN_NOTARY_PASSPHRASE: PASSPHRASE });
    expect(r.code).toBe(0);
    const [out] = jsonLines(r.stdout);
    notaryAddress = String(out!.address);
    expect(notaryAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(r.stdout + r.stderr).not.toContain(PASSPHRASE);
    // The admin grants NOTARY_ROLE and funds the notary's gas.
    await (await registry.grantRole(id('NOTARY_ROLE'), notaryAddress)).wait();
    await (await admin.sendTransaction({ to: notaryAddress, value: parseEther('1') })).wait();
  });

  it('a wrong passphrase exits 2 with KEY_PASSPHRASE_WRONG and shows no passphrase', async () => {
    await anchorNext();
    const wrong = 'wrong-passphrase-do-not-print';
    const r = await cli(['notary', '--once', '--data', data], { LIUHEN_NOTARY_PASSPHRASE: wrong });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KEY_PASSPHRASE_WRONG');
    for (const secret of [wrong, PASSPHRASE]) expect(r.stdout + r.stderr).not.toContain(secret);
    const j = await cli(['notary', '--once', '--json', '--data', data], { LIUHEN_NOTARY_PASSPHRASE: wrong });
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stderr.trim())).toMatchObject({ error: { code: 'KEY_PASSPHRASE_WRONG' } });
    expect(j.stdout + j.stderr).not.toContain(wrong);
  });

  it('notary pending lists what is not co-signed, without the passphrase', async () => {
    await anchorNext({ first: 1_000_000, last: 1_000_001 }); // captured in 1970: too old for the policy
    const r = await cli(['notary', 'pending', '--json', '--data', data]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).map((p) => [(p.batch as { seq: number }).seq, p.state])).toEqual([
      [1, 'new'],
      [2, 'new'],
    ]);
  });

  it('notary --once co-signs the backlog, prints a line per batch and exits 0', async () => {
    await anchorNext();
    await provider.send('evm_mine', []); // the last anchor needs 1 confirmation
    const r = await cli(['notary', '--once', '--json', '--data', data], { LIUHEN_NOTARY_PASSPHRASE: PASSPHRASE });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => [l.status, (l.batch as { seq: number }).seq, l.reason])).toEqual([
      ['signed', 1, undefined],
      ['signed', 2, undefined],
      ['signed', 3, undefined],
    ]);
    // Issue 9.3 changed these assertions: a capture older than maxAge is flagged, no longer refused.
    expect(lines[1]).toMatchObject({ flags: [{ reason: 'CAPTURE_TOO_OLD' }] });
    for (const l of lines.filter((x) => x.status === 'signed')) {
      expect(await registry.isNotarized(encodeBytes32String(AGENCY), (l.batch as { root: string }).root)).toBe(true);
      expect(String(l.cosignTx)).toMatch(/^0x[0-9a-f]{64}$/);
    }
    expect(r.stdout).not.toContain(PASSPHRASE);

    // Text output: nothing left, nothing is signed twice.
    const again = await cli(['notary', '--once', '--data', data], { LIUHEN_NOTARY_PASSPHRASE: PASSPHRASE });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/refused|signed +310115/);
    const pending = await cli(['notary', 'pending', '--data', data]);
    expect(pending.stdout).not.toMatch(/#2 .*refused/);
  });

  it('notary (following) co-signs a new anchor within seconds and exits 0 on SIGTERM', async () => {
    const child = startCli(['notary', '--data', data, '--poll', '200'], { LIUHEN_NOTARY_PASSPHRASE: PASSPHRASE });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c));
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const t0 = Date.now();
    while (!stderr.includes('follows registry')) {
      if (Date.now() - t0 > 20_000 || child.exitCode !== null) throw new Error(`notary did not start: ${stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const root = await anchorNext();
    await provider.send('evm_mine', []);
    const t1 = Date.now();
    while (!(await registry.isNotarized(encodeBytes32String(AGENCY), root))) {
      if (Date.now() - t1 > 5_000) throw new Error(`not co-signed within 5 s: ${stdout} ${stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(new RegExp(`signed +310115-ZFJ #4 ${root}`));
    expect(stdout + stderr).not.toContain(PASSPHRASE);
  });
});
