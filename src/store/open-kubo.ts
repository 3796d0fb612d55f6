import type { KuboBackend, KuboBackendOptions } from './kubo.js';

/**
 * Connect to a Kubo RPC endpoint as a raw object backend (ciphertext in,
 * ciphertext out). The client is loaded on first use, so importing the store
 * does not pull the HTTP client stack into processes that never use Kubo.
 */
export async function openKuboBackend(options: KuboBackendOptions): Promise<KuboBackend> {
  const { KuboBackend } = await import('./kubo.js');
  return KuboBackend.open(options);
}
