/** The one chain error mapper: network vs revert vs any other answer of the node. */
import { describe, expect, it } from 'vitest';
import { LiuhenError } from '../../src/errors.js';
import { chainError, decodeRegistryError, registryInterface } from '../../src/chain/registry.js';
import { classifyChainError, isNetworkError, toChainError } from '../../src/util/chain-error.js';

const network = Object.assign(new Error('request failed'), { code: 'ECONNREFUSED' });
const ethersNetwork = Object.assign(new Error('timeout'), { code: 'TIMEOUT' });
const unknownRevert = Object.assign(new Error('execution reverted'), { code: 'CALL_EXCEPTION', data: null });
const registryData = registryInterface.encodeErrorResult('EvidenceRegistryNotNotary', ['0x' + '11'.repeat(32), '0x' + '22'.repeat(20)]);
const registryRevertErr = Object.assign(new Error('execution reverted (unknown custom error)'), { code: 'CALL_EXCEPTION', data: registryData });
const rejected = Object.assign(new Error('nonce too low'), { code: 'NONCE_EXPIRED' });
const badParams = Object.assign(new Error('could not coalesce error'), { code: 'UNKNOWN_ERROR', error: { code: -32602, message: 'invalid params' } });

describe('classifyChainError', () => {
  it('tells the three kinds apart', () => {
    expect(classifyChainError(network)).toBe('network');
    expect(classifyChainError(ethersNetwork)).toBe('network');
    expect(classifyChainError({ cause: { cause: network } })).toBe('network');
    expect(classifyChainError(unknownRevert)).toBe('revert');
    expect(classifyChainError(registryRevertErr)).toBe('revert');
    expect(classifyChainError(rejected)).toBe('rejected');
    expect(classifyChainError(badParams)).toBe('rejected');
    expect(classifyChainError(new LiuhenError('CHAIN_UNREACHABLE', 'x'))).toBe('network');
    expect(classifyChainError(new LiuhenError('CHAIN_REVERTED', 'x'))).toBe('revert');
    expect(isNetworkError(rejected)).toBe(false);
  });
});

describe('toChainError / chainError', () => {
  it('network → CHAIN_UNREACHABLE, naming only the redacted endpoint given', () => {
    const e = toChainError(network, { doing: 'reading the block number', endpoint: 'http://node.example/***' });
    expect(e.code).toBe('CHAIN_UNREACHABLE');
    expect(e.message).toContain('http://node.example/***');
    expect(e.message).toContain('reading the block number');
  });

  it('a revert → CHAIN_REVERTED, naming the registry error when it is one', () => {
    const e = chainError(registryRevertErr, 'sending cosign');
    expect(e.code).toBe('CHAIN_REVERTED');
    expect(e.message).toMatch(/^sending cosign reverted: EvidenceRegistryNotNotary\(/);
    expect(e.details).toMatchObject({ error: 'EvidenceRegistryNotNotary' });
    expect(chainError(unknownRevert, 'x').code).toBe('CHAIN_REVERTED');
  });

  it('any other answer of the node is CHAIN_RPC_ERROR, never CHAIN_UNREACHABLE', () => {
    // The old registry.ts chainError labelled these CHAIN_UNREACHABLE.
    expect(chainError(rejected, 'reading the nonce').code).toBe('CHAIN_RPC_ERROR');
    expect(chainError(badParams, 'reading logs').code).toBe('CHAIN_RPC_ERROR');
    expect(chainError(new Error('boom'), 'x').code).toBe('CHAIN_RPC_ERROR');
  });

  it('coded errors pass through; decodeRegistryError only rewrites reverts', () => {
    const coded = new LiuhenError('REGISTRY_MISSING', 'no registry');
    expect(chainError(coded, 'x')).toBe(coded);
    expect(decodeRegistryError(network, 'anchor')).toBe(network);
    expect(decodeRegistryError(rejected, 'anchor')).toBe(rejected);
    expect(decodeRegistryError(registryRevertErr, 'anchor')).toMatchObject({ code: 'CHAIN_REVERTED' });
  });
});
