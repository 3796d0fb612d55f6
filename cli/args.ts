import { fail } from '../src/errors.js';

/** An integer option within [min, max], or undefined when not given; a coded error names the flag. */
export function intOption(flag: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d{1,16}$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
    fail('INVALID_INPUT', `${flag} must be an integer from ${min} to ${max}, got ${value}`);
  return n;
}

/** A TCP port option (0: any free port). */
export function portOption(flag: string, value: string): number {
  return intOption(flag, value, 0, 65535)!;
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, a service manager); `dispose` stops listening. */
export function untilSignal(): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => {};
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => resolve(s);
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    dispose = () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  });
  return { promise, dispose };
}
