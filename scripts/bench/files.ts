import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Shared by the benches that compare against `sha256sum` on the same file in the same run. */

/** Write `size` bytes of AES-CTR keystream (incompressible, fast to make) to `path`. */
export async function generate(path: string, size: number): Promise<void> {
  const ctr = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(zeros.length, size - done);
      await fh.write(ctr.update(zeros.subarray(0, n)));
      done += n;
    }
  } finally {
    await fh.close();
  }
}

/** coreutils' `sha256sum` of `path` (the reference), or undefined where it is missing or fails. */
export function sha256sum(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('sha256sum', [path], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.split(/\s+/)[0] : undefined));
  });
}

export const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
