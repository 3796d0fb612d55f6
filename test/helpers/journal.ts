import { Journal } from '../../src/journal/journal.js';
import { tempDir } from './tmp.js';

/** Runs `use` on a journal in a fresh temp folder, then closes it and removes the folder. */
export async function withJournal<T>(use: (j: Journal) => Promise<T>): Promise<T> {
  const t = tempDir();
  const j = await Journal.open(t.dir);
  try {
    return await use(j);
  } finally {
    await j.close();
    t.cleanup();
  }
}
