/**
 * What a state snapshot of the embedded chain costs as its history grows
 * (issue 10.3): `anvil_dumpState` + gunzip + the atomic write (tmp, fsync,
 * link, rename, folder fsync), at a few chain lengths. The persister pauses
 * 1 s between snapshots, or 3× the last one's cost up to 5 s.
 *
 *   npx tsx scripts/bench/faults-snapshot.ts
 *
 * Emits per length:
 *   {"bench":"faults.snapshot","blocks":…,"tx_blocks":…,"state_bytes":…,"ms_p50":…,"ms_max":…}
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HDNodeWallet, JsonRpcProvider, Mnemonic } from 'ethers';
import { startAnvil } from '../../src/chain/anvil.js';

export type Emit = (line: Record<string, unknown>) => void;

export async function run(emit: Emit): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'liuhen-bench-snapshot-'));
  const statePath = join(dir, 'state.json');
  const chain = await startAnvil({ port: 0, statePath, stateInterval: 3600 });
  const provider = new JsonRpcProvider(chain.rpc, undefined, { staticNetwork: true });
  try {
    const w = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase('test test test test test test test test test test test junk'), "m/44'/60'/0'/0/0").connect(
      provider,
    );
    let nonce = 0;
    let txBlocks = 0;
    for (const target of [1000, 5000]) {
      // Half the new blocks carry a transaction (an anchor-sized calldata), half are empty (anvil_mine).
      const head = Number(await provider.send('eth_blockNumber', []));
      const add = target - head;
      const withTx = Math.floor(add / 2);
      const sends = [];
      for (let i = 0; i < withTx; i++)
        sends.push(w.sendTransaction({ to: w.address, value: 1n, nonce: nonce++, data: `0x${'ab'.repeat(196)}`, gasLimit: 100_000 }));
      for (const s of await Promise.all(sends)) void s;
      txBlocks += withTx;
      const now = Number(await provider.send('eth_blockNumber', []));
      if (target > now) await provider.send('anvil_mine', [`0x${(target - now).toString(16)}`]);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        await provider.send('anvil_mine', ['0x1']);
        const t0 = performance.now();
        await chain.saveState();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      emit({
        bench: 'faults.snapshot',
        blocks: target + 3,
        tx_blocks: txBlocks,
        state_bytes: statSync(statePath).size,
        ms_p50: Math.round(times[1]!),
        ms_max: Math.round(times[2]!),
      });
    }
  } finally {
    provider.destroy();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run((l) => console.log(JSON.stringify(l)));
  process.exit(0);
}
