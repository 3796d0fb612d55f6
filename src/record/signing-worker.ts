/**
 * A signing thread: completes runs of device records (see chain.ts). Only the
 * journal's DeviceKey talks to it, through signing-pool.ts.
 */
import { sign } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { flattenLinks, signLinks } from './links.js';
import type { ChainRequest, ChainResponse } from './signing-pool.js';

const port = parentPort!;
port.on('message', (m: ChainRequest) => {
  let reply: ChainResponse;
  try {
    reply = { id: m.id, links: flattenLinks(signLinks(m.head, m.templates, m.publicKey, (bytes) => sign(null, bytes, m.key))) };
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message };
  }
  port.postMessage(reply);
});
