/**
 * Evidence store throughput against `sha256sum` on the same file.
 *
 *   npx tsx scripts/bench/store.ts            # 1 GiB generated file
 *   LIUHEN_BENCH_FILE=/path/clip.mp4 npx tsx scripts/bench/store.ts
 *   LIUHEN_BENCH_BYTES=268435456 npx tsx scripts/bench/store.ts
 *
 * Emits one JSON line per measurement:
 *   {"bench":"sha256sum","bytes":…,"seconds":…,"MBps":…}
 *   {"bench":"store.put","bytes":…,"seconds":…,"MBps":…,"vsSha256sum":…}   hash + encrypt + import + fsync
 *   {"bench":"store.get","bytes":…,"seconds":…,"MBps":…,"vsSha256sum":…}   read + decrypt + verify
 * MBps is 10^6 bytes per second of plaintext; vsSha256sum = MBps / sha256sum's MBps.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aesGcmKeyWrapper, openEvidenceStore } from '../../src/store/index.js';
import { generate, round, sha256sum } from './files.js';

export interface StoreBenchOptions {
  /** Size of the generated file. @default 1 GiB */
  sizeBytes?: number;
}

const GiB = 1024 ** 3;

export async function run(emit: (line: Record<string, unknown>) => void, opts: StoreBenchOptions = {}): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'liuhen-bench-store-'));
  try {
    let file = process.env.LIUHEN_BENCH_FILE;
    if (file === undefined || file === '') {
      file = join(work, 'evidence.bin');
      await generate(file, opts.sizeBytes ?? GiB);
    }
    const bytes = (await stat(file)).size;
    const line = (bench: string, seconds: number, extra: Record<string, unknown> = {}) => {
      const MBps = bytes / 1e6 / seconds;
      emit({ bench, bytes, seconds: round(seconds), MBps: round(MBps, 1), ...extra });
      return MBps;
    };

    let t = performance.now();
    const expected = await sha256sum(file);
    const shaSeconds = (performance.now() - t) / 1000;
    const shaMBps = expected === undefined ? undefined : line('sha256sum', shaSeconds);
    if (expected === undefined) emit({ bench: 'sha256sum', skipped: 'sha256sum not available' });
    const vs = (MBps: number) => (shaMBps === undefined ? {} : { vsSha256sum: round(MBps / shaMBps, 2) });

    // The KEK is held in memory: the bench measures storage, not scrypt.
    const wrapper = aesGcmKeyWrapper({ keyId: 'bench-kek', agency: 'BENCH', kek: randomBytes(32) });
    const store = await openEvidenceStore({ kind: 'local', dir: join(work, 'data') }, wrapper);
    try {
      t = performance.now();
      const put = await store.put(createReadStream(file, { highWaterMark: 1024 * 1024 }), { recordId: '01BENCH0000000000000000000', agency: 'BENCH' });
      const putSeconds = (performance.now() - t) / 1000;
      if (expected !== undefined && put.sha256 !== expected) throw new Error(`put hashed ${put.sha256}, sha256sum says ${expected}`);
      line('store.put', putSeconds, { ...vs(bytes / 1e6 / putSeconds), storedSize: put.storedSize });

      t = performance.now();
      let read = 0;
      for await (const chunk of store.get(put.cid, { recordId: '01BENCH0000000000000000000', expectedSha256: put.sha256 })) read += chunk.byteLength;
      const getSeconds = (performance.now() - t) / 1000;
      if (read !== bytes) throw new Error(`get returned ${read} bytes, want ${bytes}`);
      line('store.get', getSeconds, vs(bytes / 1e6 / getSeconds));
    } finally {
      await store.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = process.env.LIUHEN_BENCH_BYTES ? Number(process.env.LIUHEN_BENCH_BYTES) : undefined;
  run((l) => console.log(JSON.stringify(l)), size ? { sizeBytes: size } : {}).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
