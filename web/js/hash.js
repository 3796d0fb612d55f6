// SHA-256 of a file in the browser, in a Web Worker (web/js/hash-worker.js):
// the page's main thread only receives progress messages, so it stays
// responsive while a multi-gigabyte clip is hashed. The file is never uploaded.

const WORKER_URL = '/static/js/hash-worker.js';

/**
 * Resolves to { sha256 (lowercase hex, as sha256sum prints it), size }.
 * onProgress(done, total) is called as the worker reports (about 10×/s) and at the end.
 * Aborting `signal` terminates the worker at once and rejects with an AbortError.
 */
export function hashFile(file, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const aborted = () => new DOMException('hashing cancelled', 'AbortError');
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    let worker;
    try {
      worker = new Worker(WORKER_URL);
    } catch (e) {
      reject(e);
      return;
    }
    const finish = () => {
      worker.terminate();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m?.type === 'progress') onProgress?.(m.done, file.size);
      else if (m?.type === 'done') {
        finish();
        onProgress?.(m.size, file.size);
        resolve({ sha256: m.sha256, size: m.size });
      } else {
        finish();
        reject(new Error(m?.message || 'hashing failed'));
      }
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      finish();
      reject(new Error(ev.message || 'the hashing worker could not start'));
    };
    worker.postMessage({ file });
  });
}
