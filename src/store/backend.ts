/**
 * Where encrypted objects live. A backend stores and returns opaque bytes
 * addressed by their UnixFS CID; it never sees plaintext or keys (the
 * EvidenceStore encrypts before `add` and decrypts after `cat`).
 */
import type { Writable } from 'node:stream';
import type { CID } from 'multiformats/cid';

export type BackendKind = 'local' | 'kubo';

export interface ObjectBackend {
  readonly kind: BackendKind;
  /** Import one object (Kubo `add --cid-version=1 --raw-leaves`, pinned); resolves to its root CID once durable. */
  add(content: AsyncIterable<Uint8Array>): Promise<CID>;
  /** The object's bytes, in order, read with bounded read-ahead. `STORE_NOT_FOUND` if the root is absent. */
  cat(cid: CID): AsyncIterable<Uint8Array>;
  /** Whether the root block is held (locally, for Kubo: by the node itself). */
  has(cid: CID): Promise<boolean>;
  /** Write one CARv1 holding every block of `cids` (roots in that order) to `sink`, then end it. */
  exportCar(cids: readonly CID[], sink: Writable): Promise<void>;
  /** Import a CARv1 (blocks checked against their CIDs, every root complete); returns its roots. */
  importCar(source: AsyncIterable<Uint8Array>): Promise<CID[]>;
  close(): Promise<void>;
}
