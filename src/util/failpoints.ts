/**
 * Failpoints: named places in production code where a test can inject a
 * fault. Production code only calls `failpoint(name)`; nothing happens unless
 * a test enabled that name. There is no other way in: no module of the SDK
 * reads a test variable of its own.
 *
 * - In-process tests call `enableFailpoint(name, action)` and `clearFailpoints()`.
 * - Tests that SIGKILL a child process (the crash tests run the real CLI)
 *   set **`LIUHEN_FAILPOINTS`** in the child's environment, read once, by this
 *   module only, on the first `failpoint` call:
 *   `LIUHEN_FAILPOINTS=anchor.after-sign=kill,cosign.after-persist=throw`.
 *
 * Actions: `kill` sends SIGKILL to the own process (a crash at exactly that
 * point: nothing after it runs, no `finally`, no flush); `throw` throws a
 * `FailpointError` (a failure the caller must survive).
 */

/** Every failpoint of the SDK. `<kind>` is the outbox's transaction kind (`anchor`, `cosign`). */
export const FAILPOINTS = [
  /** The raw transaction is persisted, nothing broadcast yet. */
  'anchor.after-sign',
  /** The transaction was handed to the node, before its state says submitted. */
  'anchor.after-broadcast',
  'cosign.after-sign',
  'cosign.after-broadcast',
  /** `liuhen notary rotate`: after the first, and the second, of its three file steps (duty file, old log aside, keystores swapped). */
  'notary-rotate.files-1',
  'notary-rotate.files-2',
  /** A key rotation's keystore swap: the old keystore kept under retired/, the new one not yet in place. */
  'rotate.swap',
  /** `liuhen restore --force`: the old folder moved aside, the restored one not yet renamed into its place. */
  'restore.put-in-place',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

export type FailpointAction = 'kill' | 'throw';

/** The only environment variable of the failpoint module (see the module comment). */
export const FAILPOINTS_ENV = 'LIUHEN_FAILPOINTS';

export class FailpointError extends Error {
  override readonly name = 'FailpointError';
  constructor(readonly failpoint: FailpointName) {
    super(`failpoint ${failpoint} hit`);
  }
}

const enabled = new Map<FailpointName, FailpointAction>();
let envRead = false;

function isName(s: string): s is FailpointName {
  return (FAILPOINTS as readonly string[]).includes(s);
}

/** Parses `name=action,…`; unknown names or actions are an error (a typo must not silently disable a crash test). */
export function parseFailpoints(spec: string): Map<FailpointName, FailpointAction> {
  const out = new Map<FailpointName, FailpointAction>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', action = 'kill'] = part.split('=');
    if (!isName(name)) throw new Error(`${FAILPOINTS_ENV}: unknown failpoint "${name}" (known: ${FAILPOINTS.join(', ')})`);
    if (action !== 'kill' && action !== 'throw') throw new Error(`${FAILPOINTS_ENV}: unknown action "${action}" for ${name} (kill or throw)`);
    out.set(name, action);
  }
  return out;
}

function readEnvOnce(): void {
  if (envRead) return;
  envRead = true;
  const spec = process.env[FAILPOINTS_ENV];
  if (spec) for (const [name, action] of parseFailpoints(spec)) if (!enabled.has(name)) enabled.set(name, action);
}

export function enableFailpoint(name: FailpointName, action: FailpointAction): void {
  enabled.set(name, action);
}

export function disableFailpoint(name: FailpointName): void {
  readEnvOnce();
  enabled.delete(name);
}

/** Disables every failpoint (including those from the environment). */
export function clearFailpoints(): void {
  envRead = true;
  enabled.clear();
}

/** Production code's hook: does nothing unless `name` is enabled. */
export function failpoint(name: FailpointName): void {
  readEnvOnce();
  const action = enabled.get(name);
  if (action === undefined) return;
  switch (action) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'throw':
      throw new FailpointError(name);
  }
}
