/** `liuhen/store` — the encrypted, content-addressed evidence store (local or Kubo). */
export * from '../store/index.js';
