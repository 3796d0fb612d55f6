// SHA-256 of one file, off the page's main thread (a dedicated, classic Web
// Worker: importScripts is the one way to load hash-wasm's UMD build without a
// bundler). The file is streamed with File.stream() and fed chunk by chunk to
// hash-wasm's WebAssembly SHA-256, so memory stays flat whatever the size.
// hash-wasm is served by the gateway from node_modules (no CDN); compiling its
// WebAssembly needs 'wasm-unsafe-eval' in this script's own CSP (CSP3 §6.1:
// a worker gets the policy delivered with its script, not the page's), which
// the gateway sends with this file only.
//
// Protocol: the page posts { file }; the worker answers
//   { type: 'progress', done }        at most every PROGRESS_MS
//   { type: 'done', sha256, size }    lowercase hex, as sha256sum prints it
//   { type: 'error', message }
// Cancel = the page terminates the worker (nothing to clean up here).
/* global hashwasm */
importScripts('/vendor/hash-wasm/sha256.umd.min.js');

const PROGRESS_MS = 100;
/** Bytes asked per read when the stream supports BYOB reads: one buffer, reused for the whole file. */
const READ_BYTES = 1 << 20;

/**
 * The file's bytes, chunk by chunk. Blob streams are byte streams in current
 * browsers: a BYOB reader fills one reused 1 MiB buffer (no garbage per
 * chunk, so memory stays flat however large the file); otherwise the default
 * reader's chunks.
 */
async function* chunks(file) {
  const stream = file.stream();
  let byob;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    byob = undefined;
  }
  if (byob) {
    let buffer = new ArrayBuffer(READ_BYTES);
    for (;;) {
      const { value, done } = await byob.read(new Uint8Array(buffer, 0, READ_BYTES));
      if (done) return;
      yield value;
      buffer = value.buffer;
    }
  }
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

self.onmessage = async (event) => {
  const file = event.data?.file;
  try {
    if (!(file instanceof Blob)) throw new TypeError('no file');
    const hasher = await hashwasm.createSHA256();
    hasher.init();
    let done = 0;
    let last = performance.now();
    for await (const value of chunks(file)) {
      hasher.update(value);
      done += value.byteLength;
      const now = performance.now();
      if (now - last >= PROGRESS_MS) {
        last = now;
        self.postMessage({ type: 'progress', done });
      }
    }
    self.postMessage({ type: 'done', sha256: hasher.digest('hex'), size: done });
  } catch (e) {
    self.postMessage({ type: 'error', message: String(e?.message ?? e) });
  }
};
