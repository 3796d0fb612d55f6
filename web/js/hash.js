// SHA-256 of a file in the browser, streamed: the file is read chunk by chunk
// from file.stream() and never held whole in memory, and never uploaded.
// @noble/hashes is served as-is from node_modules (plain ES modules).
import { sha256 } from '/vendor/noble-hashes/sha2.js';
import { bytesToHex } from '/vendor/noble-hashes/utils.js';

/**
 * Resolves to the lowercase hex SHA-256 (as sha256sum prints it) and the byte count.
 * onProgress(done, total) is called at most once per animation frame and at the end.
 * Rejects with an AbortError when `signal` aborts.
 */
export async function hashFile(file, { onProgress, signal } = {}) {
  const hasher = sha256.create();
  const reader = file.stream().getReader();
  const total = file.size;
  let done = 0;
  let lastReport = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw new DOMException('hashing cancelled', 'AbortError');
      const { value, done: end } = await reader.read();
      if (end) break;
      hasher.update(value);
      done += value.byteLength;
      const now = performance.now();
      if (onProgress && now - lastReport > 50) {
        lastReport = now;
        onProgress(done, total);
      }
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  onProgress?.(done, total);
  return { sha256: bytesToHex(hasher.digest()), size: done };
}
