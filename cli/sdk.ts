/**
 * The SDK, loaded only when a command runs (issue 11 goal 4): `liuhen --help`
 * and an offline `liuhen verify` must answer at once, and the SDK's barrel
 * brings ethers, LevelDB and the chain client (≈ 0.3 s of module loading).
 * Command modules import only light modules statically (errors, schemas) and
 * reach everything else through `sdk`, a live binding set by `loadSdk()`,
 * which `main` awaits before every action that is not marked light.
 */
export let sdk: typeof import('../src/index.js') = undefined as never;

/** SDK internals a command needs that the public index does not export (loaded with it). */
export let sdkConfig: typeof import('../src/config.js') = undefined as never;

export async function loadSdk(): Promise<typeof import('../src/index.js')> {
  sdk ??= await import('../src/index.js');
  sdkConfig ??= await import('../src/config.js');
  return sdk;
}
