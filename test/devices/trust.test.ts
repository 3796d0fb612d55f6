/**
 * Trust roots for offline verifiers (`liuhen verify --trust FILE`,
 * src/chain/trust.ts): parsing with coded errors, and on a real chain the
 * file's chain id, registries, agencies and notary set decide the verdict;
 * LIUHEN_RPC_URL is the default endpoint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrustRoot, trustName } from '../../src/chain/trust.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { openNotary } from '../../src/notary/open.js';
import { chainFor, cli, deployedFolder, providerFor, stopAll, tempDir } from '../chain/helpers.js';

afterAll(stopAll);

const R = '0x1111111111111111111111111111111111111111';

describe('parseTrustRoot', () => {
  it('accepts the documented shape and gives names', () => {
    const t = parseTrustRoot(
      JSON.stringify({
        format: 'liuhen-trust/1',
        chainId: 27752,
        registries: [R],
        notaries: { threshold: 1, members: [{ address: R, name: '济南市泉城公证处' }] },
        agencies: [{ code: 'JN-CGJ', name: '济南市城市管理局' }],
      }),
    );
    expect(trustName(t, 'JN-CGJ')).toBe('济南市城市管理局');
    expect(trustName(t, R.toUpperCase().replace('0X', '0x'))).toBe('济南市泉城公证处');
  });

  it('refuses what is not one with INVALID_INPUT naming the field', () => {
    for (const bad of [
      'not json',
      JSON.stringify({ format: 'liuhen-trust/1', chainId: 1, registries: [] }),
      JSON.stringify({ format: 'liuhen-trust/1', chainId: 1, registries: ['0x12'] }),
      JSON.stringify({ format: 'liuhen-trust/1', chainId: 1, registries: [R], extra: 1 }),
    ]) {
      expect(() => parseTrustRoot(bad)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
    try {
      parseTrustRoot(JSON.stringify({ format: 'liuhen-trust/1', chainId: 1, registries: ['0x12'] }), 't.json');
    } catch (e) {
      expect(isLiuhenError(e, 'INVALID_INPUT') && /t\.json: .*registries/.test((e as Error).message)).toBe(true);
    }
  });
});

it('on a real chain: chain id, agencies and the notary set of the trust root decide; the CLI reads --trust and LIUHEN_RPC_URL', async () => {
  const chain = await chainFor();
  const { dataDir, deployed } = await deployedFolder(chain.rpc, 'JN-CGJ');
  const dir = tempDir();
  const file = join(dir, 'clip.mp4');
  writeFileSync(file, Buffer.alloc(4096, 3));
  const lh = await Liuhen.open(dataDir);
  const { record } = await lh.recordFile(file);
  await lh.seal();
  await lh.anchor();
  await lh.close();
  const notary = await openNotary({ dataDir });
  await notary.runOnce();
  await notary.close();
  const again = await Liuhen.open(dataDir);
  const receipt = await again.receipt(record.id);
  await again.close();
  const registry = deployed.chain.registry!;
  const notaryAddress = deployed.notaryAddress!;
  const base = { format: 'liuhen-trust/1' as const, chainId: chain.chainId, registries: [registry] };
  const provider = providerFor(chain);
  const check = async (trust: Parameters<typeof parseTrustRoot>[0]) => {
    const v = createChainVerifier({ provider, trust: parseTrustRoot(trust) });
    try {
      return { anchor: await v.checkAnchor(receipt), notary: await v.checkNotary(receipt) };
    } finally {
      v.close();
    }
  };
  try {
    expect(await check({ ...base, notaries: { threshold: 1, members: [{ address: notaryAddress }] }, agencies: [{ code: 'JN-CGJ' }] })).toMatchObject({
      anchor: { status: 'pass' },
      notary: { status: 'pass', code: 'NOTARY_VALID' },
    });
    // A notary outside the court's set does not count; a threshold above the co-signers keeps it pending.
    expect((await check({ ...base, notaries: { members: [{ address: R }] } })).notary).toMatchObject({ status: 'pending', code: 'NOTARY_BELOW_THRESHOLD' });
    expect((await check({ ...base, notaries: { threshold: 2, members: [{ address: notaryAddress }] } })).notary).toMatchObject({ status: 'pending' });
    expect((await check({ ...base, agencies: [{ code: 'JN-SCJGJ' }] })).anchor).toMatchObject({ status: 'fail', code: 'ANCHOR_AGENCY_UNTRUSTED' });
    expect((await check({ ...base, chainId: 1 })).anchor).toMatchObject({ status: 'fail', code: 'CHAIN_MISMATCH' });
    expect((await check({ ...base, registries: [R] })).anchor).toMatchObject({ status: 'fail', code: 'ANCHOR_REGISTRY_UNTRUSTED' });
  } finally {
    provider.destroy();
  }

  // The CLI, from a folder that knows nothing: the trust file pins everything, LIUHEN_RPC_URL gives the node.
  const trustFile = join(dir, 'trust.json');
  writeFileSync(trustFile, JSON.stringify({ ...base, notaries: { threshold: 1, members: [{ address: notaryAddress, name: '公证处' }] } }));
  const receiptFile = join(dir, 'r.json');
  writeFileSync(receiptFile, JSON.stringify(receipt));
  const r = await cli(
    ['--data', join(dir, 'none'), '--json', 'verify', file, '--receipt', receiptFile, '--trust', trustFile],
    { LIUHEN_RPC_URL: chain.rpc },
    120_000,
  );
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const verdict = JSON.parse(r.stdout);
  expect(verdict.status).toBe('verified');
  expect(verdict.checks.find((c: { name: string }) => c.name === 'device')).toMatchObject({ code: 'DEVICE_KEY_UNENROLLED' });
}, 300_000);
