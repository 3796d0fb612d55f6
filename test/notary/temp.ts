import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temporary folders, removed by `cleanup()`. */
export function tempDirs(): { make: (label?: string) => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make(label = 'notary') {
      const d = mkdtempSync(join(tmpdir(), `liuhen-${label}-`));
      made.push(d);
      return d;
    },
    cleanup() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
