/**
 * `sleep(ms, signal)`: waits `ms` milliseconds.
 *
 * One behaviour on abort, everywhere in the SDK: the promise **rejects with
 * `signal.reason`** (an `AbortError` DOMException unless the caller gave its
 * own reason), at once if the signal is already aborted — the same contract
 * as Node's `timers/promises` `setTimeout`, so an abort can never be mistaken
 * for "the time has passed". A loop that only wants to stop waiting writes
 * `await sleep(ms, signal).catch(ignoreAbort(signal))` and then checks
 * `signal.aborted` itself.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A `catch` handler that swallows the rejection of an aborted `sleep` only:
 * any other error (there is none today, but a future one must not vanish)
 * is thrown again.
 */
export function ignoreAbort(signal: AbortSignal | undefined): (e: unknown) => void {
  return (e: unknown) => {
    if (signal?.aborted && e === signal.reason) return;
    throw e;
  };
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
