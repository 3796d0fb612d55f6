/**
 * A serial mutex: `run(fn)` calls run one at a time, in call order. A call
 * that fails (throws or rejects) frees the mutex for the next one; its error
 * reaches only its own caller.
 *
 * The SDK needs it where a read-check-write must not interleave with another
 * (a notary's slot check and its write, two passes of the anchorer, two seals
 * of the journal); it is the one promise-chain lock of the code base.
 */
export class SerialMutex {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Runs `fn` once every earlier `run` has settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.waiting++;
    const next = this.tail.then(async () => {
      try {
        return await fn();
      } finally {
        this.waiting--;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every call made so far has settled (never rejects). */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  /** Calls queued or running. */
  get pending(): number {
    return this.waiting;
  }
}
