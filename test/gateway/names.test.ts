import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AGENCY_NAME, NOTARY_NAME, startChainWorld, type ChainWorld } from '../browser/chain-world.js';
import { json } from './harness.js';

/**
 * Names instead of hex (issue 14) over a real chain: names registered on the
 * registry (version 2) by `deploy({names})` reach the public verdict, the
 * verdict of POST /v1/verify and GET /v1/names; an unnamed notary is reported
 * as such (name null), and the gateway config's names fill in where the
 * registry has none.
 */
let w: ChainWorld;

beforeAll(async () => {
  w = await startChainWorld();
}, 90_000);

afterAll(async () => {
  await w?.close();
});

describe('display names', () => {
  test('the public verdict names the agency and the notary, and marks the unnamed notary', async () => {
    const pub = await (await w.h.call(`/v1/verify/${w.rec.leaf}`)).json();
    expect(pub).toMatchObject({ agency: 'AG-A', agencyName: AGENCY_NAME, notarized: true, status: 'verified' });
    const byAddress = Object.fromEntries(pub.notaries.map((n: { notary: string; name: string | null }) => [n.notary.toLowerCase(), n.name]));
    expect(byAddress).toEqual({ [w.namedNotary.toLowerCase()]: NOTARY_NAME, [w.unnamedNotary.toLowerCase()]: null });
    expect(pub.names.agencies).toEqual({ 'AG-A': AGENCY_NAME });
  });

  test('POST /v1/verify carries the names of the receipt agency and co-signers', async () => {
    const receipt = await (await w.h.call(`/v1/records/${w.rec.id}/receipt`, { token: w.h.t.supervisor })).json();
    const v = await (await w.h.call('/v1/verify', json({ receipt, sha256: w.rec.sha256 }))).json();
    expect(v.status).toBe('verified');
    expect(v.names.agencies).toEqual({ 'AG-A': AGENCY_NAME });
    const named = receipt.attestations.find((a: { notary: string }) => a.notary.toLowerCase() === w.namedNotary.toLowerCase()).notary;
    expect(v.names.notaries).toEqual({ [named]: NOTARY_NAME });
  });

  test('GET /v1/names: asked for, and by default the deployment’s own agencies', async () => {
    const asked = await (await w.h.call(`/v1/names?agencies=AG-A,AG-B&notaries=${w.namedNotary},${w.unnamedNotary}`)).json();
    expect(asked).toEqual({ agencies: { 'AG-A': AGENCY_NAME }, notaries: { [w.namedNotary]: NOTARY_NAME } });
    const all = await (await w.h.call('/v1/names')).json();
    expect(all.agencies['AG-A']).toBe(AGENCY_NAME);
    const bad = await w.h.call('/v1/names?notaries=0x1234');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('INVALID_INPUT');
  });

  test('the evidence certificate prints the names next to the code and the addresses', async () => {
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const r = await w.h.call(`/v1/records/${w.rec.id}/certificate`, { token: w.h.t.supervisor });
    expect(r.status).toBe(200);
    const path = join(w.h.dir, 'certificate.pdf');
    writeFileSync(path, Buffer.from(await r.arrayBuffer()));
    // Long lines wrap in the PDF: compare with whitespace runs as one space.
    const text = execFileSync('pdftotext', ['-raw', path, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain(`${AGENCY_NAME} (AG-A)`);
    expect(text).toContain(`${NOTARY_NAME} · ${w.namedNotary}`);
    expect(text).toContain(`未登记名称的公证机构 unnamed notary · ${w.unnamedNotary}`);
  }, 30_000);

  test('deploy again with the same names sends nothing; a changed name is registered', async () => {
    const { deploy } = await import('../../src/index.js');
    const steps: string[] = [];
    await deploy({
      dataDir: w.h.dir,
      rpc: w.anvil.rpc,
      journal: w.h.liuhen.journal,
      names: { agencies: { 'AG-A': AGENCY_NAME }, notary: NOTARY_NAME },
      onStep: (s) => steps.push(s.step),
    });
    expect(steps).not.toContain('named');
    const named: unknown[] = [];
    await deploy({
      dataDir: w.h.dir,
      rpc: w.anvil.rpc,
      journal: w.h.liuhen.journal,
      names: { agencies: { 'AG-A': '济南市城市管理局(新)' } },
      onStep: (s) => s.step === 'named' && named.push(s),
    });
    expect(named).toEqual([{ step: 'named', role: 'agency', who: 'AG-A', name: '济南市城市管理局(新)' }]);
    await deploy({ dataDir: w.h.dir, rpc: w.anvil.rpc, journal: w.h.liuhen.journal, names: { agencies: { 'AG-A': AGENCY_NAME } } });
  }, 60_000);
});

describe('names without a registry: the gateway config and its trust file', () => {
  test('config names first, then the trust file; the public verdict of an unsealed record names its agency', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { startGateway, upload } = await import('./harness.js');
    const notary = '0x00000000000000000000000000000000000000aa';
    const trustFile = join(tmpdir(), `liuhen-trust-${process.pid}-${Date.now()}.json`);
    writeFileSync(
      trustFile,
      JSON.stringify({
        format: 'liuhen-trust/1',
        chainId: 31337,
        registries: ['0x5FbDB2315678afecb367f032d93F642f64180aa3'],
        notaries: { members: [{ address: notary, name: '信任文件公证处' }] },
        agencies: [
          { code: 'AG-A', name: '被配置覆盖的名称' },
          { code: 'AG-B', name: '信任文件里的局' },
        ],
      }),
    );
    const h = await startGateway({ config: { names: { agencies: { 'AG-A': '配置里的局' }, trustFile } } });
    try {
      const book = await (await h.call(`/v1/names?agencies=AG-A,AG-B,AG-C&notaries=${notary}`)).json();
      expect(book).toEqual({ agencies: { 'AG-A': '配置里的局', 'AG-B': '信任文件里的局' }, notaries: { [notary]: '信任文件公证处' } });
      const rec = await upload(h, new TextEncoder().encode('not sealed yet'));
      const pub = await (await h.call(`/v1/verify/${rec.leaf}`)).json();
      expect(pub).toMatchObject({ agency: 'AG-A', agencyName: '配置里的局', sealed: false });
    } finally {
      await h.close();
    }
  });
});
