/**
 * The embedded chain and the deploy/anchor plumbing around it: port in use,
 * the dev account refused outside dev chains, a reset chain, `anchor --watch`
 * stopping cleanly, and credentials kept out of messages.
 */
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { startAnvil } from '../../src/chain/anvil.js';
import { deploy, devAccount } from '../../src/chain/deploy.js';
import { redactUrl } from '../../src/chain/rpc.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { chainFor, cli, cliBackground, deployedFolder, stopAll, tempDir } from './helpers.js';
import { join } from 'node:path';

afterAll(stopAll);

describe('embedded chain', () => {
  it('refuses a port in use with CHAIN_PORT_IN_USE (SDK and CLI)', async () => {
    const chain = await chainFor();
    await expect(startAnvil({ port: chain.port })).rejects.toSatisfy((e) => isLiuhenError(e, 'CHAIN_PORT_IN_USE'));
    const r = await cli(['--data', join(tempDir(), 'd'), 'chain', '--port', String(chain.port)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`port ${chain.port} .* already in use.*\\[CHAIN_PORT_IN_USE\\]`));
  });

  it('uses the public dev account only on a dev chain', async () => {
    expect(() => devAccount(1)).toThrow(/not a dev chain/);
    const chain = await chainFor({ chainId: 4242 });
    const dataDir = join(tempDir(), 'd');
    Liuhen.init(dataDir, { agency: 'AG-1', device: 'cam', officer: 'O' });
    await expect(deploy({ dataDir, rpc: chain.rpc })).rejects.toSatisfy(
      (e) => isLiuhenError(e, 'KEY_MISSING') && /LIUHEN_DEPLOYER_KEYSTORE/.test((e as Error).message),
    );
  });

  it('after a dev chain reset: REGISTRY_MISSING until redeployed, then every batch is anchored again', async () => {
    const chain = await chainFor();
    const folder = await deployedFolder(chain.rpc);
    let lh = await Liuhen.open(folder.dataDir);
    const { record } = await lh.recordBody({ event: 'x' });
    await lh.seal();
    await lh.anchor();
    const before = await lh.receipt(record.id);
    await lh.close();
    await chain.stop();
    const fresh = await chainFor({ port: chain.port }); // no state: a new chain
    lh = await Liuhen.open(folder.dataDir);
    try {
      await expect(lh.anchor({ timeoutMs: 5_000 })).rejects.toSatisfy((e) => isLiuhenError(e, 'REGISTRY_MISSING'));
      expect((await lh.receipt(record.id)).anchor).toBeNull();
      await lh.close();
      await deploy({ dataDir: folder.dataDir });
      lh = await Liuhen.open(folder.dataDir);
      const events: string[] = [];
      const r = await lh.anchor({ onEvent: (e) => events.push(e.type) });
      expect(r).toMatchObject({ newlyAnchored: 1, anchored: 1 });
      expect(events).toContain('reorged');
      const after = await lh.receipt(record.id);
      expect(after.anchor).not.toBeNull();
      expect(after.anchor!.blockHash).not.toBe(before.anchor!.blockHash);
    } finally {
      await lh.close();
      await fresh.stop();
    }
  });

  it('`liuhen anchor --watch` seals by policy, anchors, and stops cleanly on SIGINT', async () => {
    const chain = await chainFor();
    const folder = await deployedFolder(chain.rpc);
    const lh = await Liuhen.open(folder.dataDir);
    await lh.recordBody({ event: 'recording-start' });
    await lh.close();
    const bg = await cliBackground(['--data', folder.dataDir, '--json', 'anchor', '--watch']);
    const seen: string[] = [JSON.parse(bg.firstLine).type];
    await new Promise<void>((resolve) => {
      const lines = createInterface({ input: bg.child.stdout! });
      lines.on('line', (l) => {
        seen.push(JSON.parse(l).type);
        if (seen.includes('anchored')) resolve();
      });
      if (seen.includes('anchored')) resolve();
    });
    expect(seen).toEqual(expect.arrayContaining(['sealed', 'submitted', 'anchored']));
    bg.child.kill('SIGINT');
    expect(await bg.exited).toBe(0);
    // The journal was closed: another command can open the folder.
    const r = await cli(['--data', folder.dataDir, '--json', 'anchor']);
    expect(r.status, r.stderr).toBe(0);
    await chain.stop();
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
    ['https://user:secret@node.example:8443/rpc', 'https://***@node.example:8443/rpc'],
    ['https://mainnet.example.io/v3/0123456789abcdef0123456789abcdef', 'https://mainnet.example.io/v3/***'],
    ['https://rpc.example/?apikey=s3cr3t&x=1', 'https://rpc.example?apikey=***&x=***'],
    ['not a url', '(invalid URL)'],
  ])('%s → %s', (url, want) => {
    expect(redactUrl(url)).toBe(want);
  });
});
