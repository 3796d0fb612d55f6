import { fail } from '../errors.js';

/** 0x-prefixed lowercase hex: the spelling of every hash of the chain world. */
export type Hex = `0x${string}`;

const HEX32 = /^0x[0-9a-f]{64}$/;

export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** Strict: 0x prefix, lowercase, even length, and `length` bytes when given. */
export function fromHex(hex: string, length?: number, what = 'value'): Uint8Array {
  if (typeof hex !== 'string' || !/^0x([0-9a-f]{2})*$/.test(hex)) {
    fail('INVALID_HEX', `${what} must be 0x-prefixed lowercase hex`);
  }
  const bytes = new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
  if (length !== undefined && bytes.length !== length) {
    fail('INVALID_HEX', `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export function isHash32(value: unknown): value is Hex {
  return typeof value === 'string' && HEX32.test(value);
}

export const ZERO32: Hex = `0x${'00'.repeat(32)}`;

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
