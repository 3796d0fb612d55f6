/** `liuhen/record` — records: schema, JCS, leaf, device keys and signatures, chaining. */
export * from '../record/index.js';
