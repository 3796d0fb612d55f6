/**
 * The "Done when", end to end with the real CLI from an empty folder:
 * init → chain (background) → deploy → record → seal → anchor → notary --once
 * → receipt → verify (exit 0) → chain stopped with SIGINT and restarted from
 * its state → verify (exit 0) → one byte of the file changed → verify (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/chain/anvil.js';
import { parseReceipt } from '../../src/receipt/format.js';
import { cli, cliBackground, jsonLines, stopAll, tempDir, trackPid } from './helpers.js';

afterAll(stopAll);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startChain(data: string, port: number) {
  const bg = await cliBackground(['--data', data, '--json', 'chain', '--port', String(port)]);
  const line = JSON.parse(bg.firstLine) as { rpc: string; chainId: number; pid: number };
  trackPid(line.pid);
  return { ...bg, ...line };
}

/** SIGINT to `liuhen chain`: it stops anvil (which dumps its state) and exits 0. */
async function stopChain(c: Awaited<ReturnType<typeof startChain>>): Promise<void> {
  c.child.kill('SIGINT');
  expect(await c.exited).toBe(0);
  expect(alive(c.pid), 'anvil still running after liuhen chain exited').toBe(false);
}

describe('liuhen CLI end to end on the embedded chain', () => {
  it('init, chain, deploy, record, seal, anchor, notary, receipt, verify; survives a chain restart; detects a changed byte', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const d = ['--data', data];
    const ok = async (args: string[]) => {
      const r = await cli([...d, ...args]);
      expect(r.status, `liuhen ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return r;
    };

    await ok(['init', '--agency', '310115-ZFJ', '--device', 'bodycam-7', '--officer', 'ZF-0042']);
    const port = await freePort();
    let chain = await startChain(data, port);
    expect(chain.chainId).toBe(27752);
    expect(chain.rpc).toBe(`http://127.0.0.1:${port}`);

    const deployed = jsonLines((await ok(['--json', 'deploy', '--rpc', chain.rpc])).stdout);
    const summary = deployed.at(-1);
    expect(summary.chain).toMatchObject({ chainId: 27752, confirmations: 0 });
    expect(deployed.map((s) => s.step)).toEqual(expect.arrayContaining(['registry-deployed', 'agency-bound', 'notary-granted']));
    // Idempotent: a second deploy reuses everything.
    const again = jsonLines((await ok(['--json', 'deploy'])).stdout);
    expect(again.map((s) => s.step ?? 'summary')).toEqual(['registry-reused', 'summary']);
    expect(again.at(-1).chain.registry).toBe(summary.chain.registry);

    const files = ['clip-1.mp4', 'photo-2.jpg', 'form-3.pdf'].map((name, i) => {
      const f = join(dir, name);
      writeFileSync(f, Buffer.alloc(1000 + i * 777, i + 1));
      return f;
    });
    const recorded = jsonLines((await ok(['--json', 'record', '--case', 'C-2025-001', ...files])).stdout);
    expect(recorded).toHaveLength(3);
    await ok(['seal']);
    const anchored = jsonLines((await ok(['--json', 'anchor'])).stdout);
    expect(anchored.filter((e) => e.type === 'anchored')).toHaveLength(1);
    expect(anchored.at(-1)).toMatchObject({ type: 'done', anchored: 1 });

    await ok(['notary', '--once']);

    const id = recorded[1].id as string;
    const receiptFile = join(dir, 'receipt.json');
    await ok(['receipt', id, '-o', receiptFile]);
    const receipt = parseReceipt(readFileSync(receiptFile, 'utf8'));
    expect(receipt.anchor).toMatchObject({ chainId: 27752, registry: summary.chain.registry });
    expect(receipt.attestations).toHaveLength(1);
    expect(receipt.attestations[0]!.notary.toLowerCase()).toBe(summary.notaryAddress.toLowerCase());

    const verify = () => cli([...d, '--json', 'verify', files[1]!, '--receipt', receiptFile, '--rpc', chain.rpc]);
    let v = await verify();
    expect(v.status, v.stdout + v.stderr).toBe(0);
    const verdict = JSON.parse(v.stdout);
    expect(verdict.status).toBe('verified');
    expect(verdict.checks.find((c: { name: string }) => c.name === 'anchor').code).toBe('ANCHOR_VALID');
    expect(verdict.checks.find((c: { name: string }) => c.name === 'notary').code).toBe('NOTARY_VALID');

    // Stop the chain (SIGINT: state dumped) and start it again from its state.
    await stopChain(chain);
    v = await verify();
    expect(v.status, 'chain down: incomplete, not failed').toBe(3);
    chain = await startChain(data, port);
    v = await verify();
    expect(v.status, v.stdout + v.stderr).toBe(0);
    // The receipt rebuilt after the restart says the same.
    const rebuilt = parseReceipt((await ok(['receipt', id])).stdout);
    expect(rebuilt.anchor).toEqual(receipt.anchor);
    expect(rebuilt.attestations).toEqual(receipt.attestations);

    // One byte of the file changed → exit 1.
    const bytes = readFileSync(files[1]!);
    bytes[500] ^= 0x01;
    writeFileSync(files[1]!, bytes);
    v = await verify();
    expect(v.status).toBe(1);
    expect(JSON.parse(v.stdout).checks.find((c: { name: string }) => c.name === 'content').code).toBe('CONTENT_MISMATCH');

    await stopChain(chain);
  });
});
