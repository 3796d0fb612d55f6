/**
 * Issue 13 at the station, on a real chain (Anvil, the real gateway chain
 * adapter): `POST /v1/records/signed` checks the signing key against the
 * registry's enrollments and accepts-and-flags (never refuses) — unenrolled,
 * enrolled, another agency's device, rotated, revoked after a stated
 * compromise time; the flag is kept in the journal and shown by the record,
 * the continuity and case views and both verdicts; a key change that the
 * registry explains as a rotation is no finding, an unexplained one is.
 */
import { JsonRpcProvider, Network } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import {
  agencyKey,
  deploy,
  devAccount,
  DeviceKey,
  enrollDevice,
  Journal,
  openKey,
  revokeDeviceKey,
  rotateDeviceKey,
  startAnvil,
  type Authenticity,
  type EmbeddedChain,
  type LiuhenRecord,
} from '../../src/index.js';
import { anchorSealed, json, AGENCY, OTHER, startGateway, type Harness } from '../gateway/harness.js';
import { tempDir } from '../helpers/tmp.js';

let anvil: EmbeddedChain;
let h: Harness;
let adapter: ClosableGatewayChain | undefined;
let provider: JsonRpcProvider;
const camera = tempDir('liuhen-cam-');
const CASE = 'C-DEV-13';
const DEVICE = 'BWC-1301';

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 });
  provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true, cacheTimeout: -1 });
  h = await startGateway({
    prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc })),
    chain: (liuhen) => (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0 })),
  });
}, 60_000);

afterAll(async () => {
  adapter?.close();
  provider?.destroy();
  await h?.close();
  await anvil?.stop();
  camera.cleanup();
});

const post = (record: unknown, token = h.t.agency) =>
  h.call('/v1/records/signed', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record }) });

type Check = { level: string; code: string; flagged: boolean; zh: string; en: string; detail: string };

describe('ingest-time device check (accept and flag)', () => {
  const key1 = DeviceKey.generate();
  const key2 = DeviceKey.generate();
  const foreign = DeviceKey.generate();
  const rogue = DeviceKey.generate();
  const made: LiuhenRecord[] = [];
  let now = 0;
  let registry = '';

  it('journals and flags as the registry says: unenrolled → enrolled → another agency’s key → rotated → revoked', async () => {
    now = (await provider.getBlock('latest'))!.timestamp;
    registry = h.liuhen.config.chain!.registry!;
    const j = await Journal.open(camera.dir);
    const at = (secondsAgo: number) => new Date((now - secondsAgo) * 1000).toISOString();
    const draft = (secondsAgo: number) => ({
      agency: AGENCY,
      device: DEVICE,
      officer: '37011301',
      case: CASE,
      kind: 'photo' as const,
      media: { type: 'image/png', size: 10, sha256: String(secondsAgo % 10).repeat(64) },
      capturedAt: at(secondsAgo),
    });
    try {
      // seq 1–2 with key 1, seq 3 with another agency's device key, seq 4 with key 2 (rotated), seq 5 key 2 after the revocation, seq 6 an unknown key.
      made.push((await j.append(draft(900), key1)).record);
      made.push((await j.append(draft(800), key1)).record);
      made.push((await j.append(draft(700), foreign)).record);
      made.push((await j.append(draft(200), key2)).record);
      made.push((await j.append(draft(150), key2)).record);
      made.push((await j.append(draft(100), rogue)).record);
    } finally {
      await j.close();
    }

    // 1. Not enrolled yet: kept (201) and flagged.
    let res = await post(made[0]);
    expect(res.status).toBe(201);
    let body = (await res.json()) as { id: string; deviceCheck: Check };
    expect(body.deviceCheck).toMatchObject({ level: 'unenrolled-key', code: 'DEVICE_KEY_UNENROLLED', flagged: true, zh: '签名密钥未在登记簿中登记' });

    // 2. The agency enrolls the camera with key 1: the next record is device-signed, not flagged.
    const signer = (await openKey(agencyKey(h.dir), anvil.chainId)).connect(provider);
    await enrollDevice(registry, signer, { agency: AGENCY, deviceId: DEVICE, kind: 'body-camera', publicKey: key1.publicKey, validFrom: now - 3600 });
    res = await post(made[1]);
    body = await res.json();
    expect(body.deviceCheck).toMatchObject({ level: 'device-signed', code: 'DEVICE_SIGNED', flagged: false });

    // 3. A key enrolled for another agency's device (governance enrolls it) signs a record of ours: flagged.
    const admin = devAccount(anvil.chainId, 0, provider);
    await enrollDevice(registry, admin, { agency: OTHER, deviceId: 'BWC-B-1', kind: 'body-camera', publicKey: foreign.publicKey, validFrom: now - 3600 });
    body = await (await post(made[2])).json();
    expect(body.deviceCheck).toMatchObject({ level: 'unenrolled-key', code: 'DEVICE_KEY_UNENROLLED', flagged: true });

    // 4. Rotation to key 2 (from 300 s ago): device-signed.
    await rotateDeviceKey(registry, signer, { agency: AGENCY, deviceId: DEVICE, publicKey: key2.publicKey, validFrom: now - 300 });
    body = await (await post(made[3])).json();
    expect(body.deviceCheck).toMatchObject({ level: 'device-signed', flagged: false });

    // 5. Key 2 stolen: revoked as compromised from now. A record that reaches the station afterwards is flagged,
    //    although its capturedAt (set by whoever holds the key) is before the compromise time.
    const revokeAt = (await provider.getBlock('latest'))!.timestamp;
    await revokeDeviceKey(registry, signer, { agency: AGENCY, deviceId: DEVICE, keyIndex: 1, compromisedAt: revokeAt - 1, reason: 'stolen' });
    expect(Date.parse(made[4]!.capturedAt) / 1000).toBeLessThan(revokeAt);
    body = await (await post(made[4])).json();
    expect(body.deviceCheck).toMatchObject({ level: 'revoked-key', code: 'DEVICE_KEY_REVOKED', flagged: true, zh: expect.stringContaining('吊销') });

    // 6. An unknown key.
    body = await (await post(made[5])).json();
    expect(body.deviceCheck).toMatchObject({ level: 'unenrolled-key', flagged: true });

    // Stored with the record: the record view and a re-upload (200, duplicate) give the check made at ingest.
    const view = await (await h.call(`/v1/records/${made[0]!.id}`, { token: h.t.supervisor })).json();
    expect(view.deviceCheck).toMatchObject({ code: 'DEVICE_KEY_UNENROLLED', flagged: true });
    const again = await post(made[0]);
    expect(again.status).toBe(200);
    expect((await again.json()).deviceCheck).toMatchObject({ code: 'DEVICE_KEY_UNENROLLED' });
    expect((await (await h.call(`/v1/records/${made[1]!.id}`, { token: h.t.supervisor })).json()).deviceCheck.code).toBe('DEVICE_SIGNED');
  }, 120_000);

  it('continuity: the rotation is explained by the registry, the other key changes are findings; flagged records listed', async () => {
    const cont = await (await h.call(`/v1/devices/${DEVICE}/continuity`, { token: h.t.supervisor })).json();
    const changes = cont.keyChanges as { fromSeq: number; toSeq: number; explained: boolean; zh: string; en: string }[];
    expect(changes.map((c) => [c.fromSeq, c.toSeq, c.explained])).toEqual([
      [2, 3, false], // key 1 → another agency's key
      [3, 4, false], // that key → key 2 (key 3's signer is not the device's)
      [5, 6, false], // key 2 → an unknown key
    ]);
    // Seq 2 → 4 is not adjacent here; the rotation itself is shown once seq 3 is out of the way (case view below is per device too).
    const keyFindings = (cont.findings as { code: string; recordIds: string[] }[]).filter((f) => f.code === 'DEVICE_KEY_CHANGED');
    expect(keyFindings).toHaveLength(3);
    expect((cont.flagged as { seq: number; code: string }[]).map((f) => [f.seq, f.code])).toEqual([
      [1, 'DEVICE_KEY_UNENROLLED'],
      [3, 'DEVICE_KEY_UNENROLLED'],
      [5, 'DEVICE_KEY_REVOKED'],
      [6, 'DEVICE_KEY_UNENROLLED'],
    ]);
    const cases = await (await h.call(`/v1/cases/${encodeURIComponent(CASE)}`, { token: h.t.supervisor })).json();
    expect((cases.flagged as { seq: number }[]).map((f) => f.seq)).toEqual([1, 3, 5, 6]);
    expect((cases.findings as { code: string }[]).filter((f) => f.code === 'DEVICE_KEY_CHANGED')).toHaveLength(3);
  });

  it('a rotation between adjacent records is explained, not a finding (device and case views)', async () => {
    const dev = 'BWC-1302';
    const k1 = DeviceKey.generate();
    const k2 = DeviceKey.generate();
    const cam = tempDir('liuhen-cam2-');
    const signer = (await openKey(agencyKey(h.dir), anvil.chainId)).connect(provider);
    await enrollDevice(registry, signer, { agency: AGENCY, deviceId: dev, kind: 'body-camera', publicKey: k1.publicKey, validFrom: now - 3600 });
    await rotateDeviceKey(registry, signer, { agency: AGENCY, deviceId: dev, publicKey: k2.publicKey, validFrom: now - 500 });
    const j = await Journal.open(cam.dir);
    const recs: LiuhenRecord[] = [];
    try {
      for (const [secondsAgo, key] of [
        [1000, k1],
        [900, k1],
        [400, k2],
      ] as const) {
        recs.push(
          (
            await j.append(
              {
                agency: AGENCY,
                device: dev,
                officer: '37011302',
                case: 'C-ROT',
                kind: 'event',
                body: { event: 'patrol' },
                capturedAt: new Date((now - secondsAgo) * 1000).toISOString(),
              },
              key,
            )
          ).record,
        );
      }
    } finally {
      await j.close();
      cam.cleanup();
    }
    for (const r of recs) expect((await (await post(r)).json()).deviceCheck.level).toBe('device-signed');
    const cont = await (await h.call(`/v1/devices/${dev}/continuity`, { token: h.t.supervisor })).json();
    expect(cont.keyChanges).toEqual([
      expect.objectContaining({
        fromSeq: 2,
        toSeq: 3,
        explained: true,
        enrollment: expect.objectContaining({ fromIndex: 0, toIndex: 1, validFrom: now - 500 }),
      }),
    ]);
    expect(cont.keyChanges[0].zh).toContain('密钥轮换');
    expect(cont.findings.filter((f: { code: string }) => f.code === 'DEVICE_KEY_CHANGED')).toEqual([]);
    expect(cont.flagged).toEqual([]);
    const c = await (await h.call('/v1/cases/C-ROT', { token: h.t.supervisor })).json();
    expect(c.keyChanges).toEqual([expect.objectContaining({ explained: true })]);
    expect(c.findings.filter((f: { code: string }) => f.code === 'DEVICE_KEY_CHANGED')).toEqual([]);
  }, 60_000);

  it('verdicts carry the authenticity level and the check made at ingest; the public one without details', async () => {
    await h.liuhen.seal();
    await anchorSealed(h, anvil.chainId, provider);
    // Record 5 (revoked key, anchored after the compromise time): revoked-key now, and flagged at ingest.
    const receipt = await (await h.call(`/v1/records/${made[4]!.id}/receipt`, { token: h.t.supervisor })).json();
    const v = await (await h.call('/v1/verify', json({ receipt }))).json();
    expect(v.checks.find((c: { name: string }) => c.name === 'device')).toMatchObject({ status: 'warn', code: 'DEVICE_KEY_REVOKED' });
    expect(v.authenticity).toMatchObject({ level: 'revoked-key' });
    expect(v.deviceCheck).toMatchObject({ code: 'DEVICE_KEY_REVOKED', flagged: true });

    const r5 = await (await h.call(`/v1/records/${made[4]!.id}`, { token: h.t.supervisor })).json();
    const pub = await (await h.call(`/v1/verify/${r5.leaf}`)).json();
    expect(pub.authenticity).toMatchObject({ level: 'revoked-key', zh: expect.stringContaining('吊销'), en: expect.stringContaining('revoked') });
    expect(pub.deviceCheck).toMatchObject({ code: 'DEVICE_KEY_REVOKED', flagged: true });
    expect(pub.deviceCheck.detail).toBeUndefined();
    const publicDevice = pub.checks.find((c: { name: string }) => c.name === 'device');
    expect(publicDevice.detail).not.toContain(DEVICE);

    // Record 2 (key 1, never revoked): device-signed, then and now.
    const r2 = await (await h.call(`/v1/records/${made[1]!.id}`, { token: h.t.supervisor })).json();
    const pub2 = await (await h.call(`/v1/verify/${r2.leaf}`)).json();
    expect(pub2.authenticity).toMatchObject({ level: 'device-signed', zh: '由登记的执法设备在采集时签名' });
    expect(pub2.deviceCheck).toMatchObject({ code: 'DEVICE_SIGNED', flagged: false });
  }, 120_000);
});

/**
 * The check never holds an upload up: a registry that does not answer (a
 * double of the gateway's chain port — a hung RPC cannot be staged on a real
 * node) gives DEVICE_ENROLLMENT_UNKNOWN after the read limit, and is not asked
 * again for a while; the record is journaled and acknowledged either way.
 */
describe('ingest with a registry that does not answer', () => {
  it('acknowledges the record with DEVICE_ENROLLMENT_UNKNOWN, and backs off', async () => {
    const { FakeChain } = await import('../gateway/fake-chain.js');
    let asked = 0;
    class HungRegistry extends FakeChain {
      recordAuthenticity(): Promise<undefined> {
        asked++;
        return new Promise(() => {});
      }
    }
    const g = await startGateway({ chain: new HungRegistry() });
    const cam = tempDir('liuhen-cam3-');
    try {
      const j = await Journal.open(cam.dir);
      const key = DeviceKey.generate();
      const recs: LiuhenRecord[] = [];
      try {
        for (let i = 0; i < 2; i++)
          recs.push(
            (await j.append({ agency: AGENCY, device: 'BWC-HUNG', officer: '1', kind: 'event', body: { i }, capturedAt: new Date().toISOString() }, key))
              .record,
          );
      } finally {
        await j.close();
      }
      const send = (r: LiuhenRecord) =>
        g.call('/v1/records/signed', {
          method: 'POST',
          token: g.t.agency,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ record: r }),
        });
      const first = await send(recs[0]!);
      expect(first.status).toBe(201);
      expect((await first.json()).deviceCheck).toMatchObject({
        level: 'enrollment-unknown',
        code: 'DEVICE_ENROLLMENT_UNKNOWN',
        flagged: false,
        status: 'skipped',
      });
      const second = await send(recs[1]!);
      expect(second.status).toBe(201);
      expect((await second.json()).deviceCheck.detail).toMatch(/did not answer shortly before/);
      expect(asked).toBe(1);
      expect(await g.recordCount()).toBe(2);
    } finally {
      await g.close();
      cam.cleanup();
    }
  }, 60_000);
});

/**
 * Red team: a re-upload racing the first upload of the same signed record
 * (a device retrying after a dropped answer). The first upload is journaled and
 * its check is under way when the retry arrives; the retry found no stored
 * check yet, asked the registry again and stored its own answer — so the check
 * kept in the journal (and shown in every view) was not the one acknowledged to
 * the first upload, and the last writer won. Both answers and the stored check
 * must be one check, asked once.
 */
describe('ingest: a re-upload racing the first upload', () => {
  it('the retry gets the first upload’s check; the registry is asked once; the stored check is that one', async () => {
    const { FakeChain } = await import('../gateway/fake-chain.js');
    const answers: Array<(a: Authenticity) => void> = [];
    let asked = 0;
    class GatedRegistry extends FakeChain {
      recordAuthenticity(): Promise<Authenticity> {
        asked++;
        return new Promise((resolve) => answers.push(resolve));
      }
    }
    const g = await startGateway({ chain: new GatedRegistry() });
    const cam = tempDir('liuhen-cam4-');
    try {
      const j = await Journal.open(cam.dir);
      let rec: LiuhenRecord;
      try {
        rec = (
          await j.append(
            { agency: AGENCY, device: 'BWC-RACE', officer: '1', kind: 'event', body: { i: 0 }, capturedAt: new Date().toISOString() },
            DeviceKey.generate(),
          )
        ).record;
      } finally {
        await j.close();
      }
      const send = () =>
        g.call('/v1/records/signed', {
          method: 'POST',
          token: g.t.agency,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ record: rec }),
        });
      const first = send();
      // The first upload is journaled and waits for the registry.
      for (let i = 0; i < 400 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(answers.length).toBe(1);
      const retry = send();
      // Give the retry every chance to ask the registry itself (before the fix it did).
      for (let i = 0; i < 10 && answers.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      answers[1]?.({ level: 'unenrolled-key', detail: 'answered to the retry' });
      answers[0]!({ level: 'device-signed', detail: 'answered to the first upload' });
      const a = await (await first).json();
      const b = await (await retry).json();
      expect(b.duplicate).toBe(true);
      expect(b.deviceCheck).toEqual(a.deviceCheck);
      const stored = await (await g.call(`/v1/records/${rec.id}`, { token: g.t.supervisor })).json();
      expect(stored.deviceCheck).toEqual(a.deviceCheck);
      expect(asked).toBe(1);
    } finally {
      await g.close();
      cam.cleanup();
    }
  }, 60_000);
});

/**
 * Red team: a retry after a crash between journaling and keeping the check asked the
 * registry with existedBy = the retry's time, so a key revoked in between flagged a
 * record that reached the station before the revocation. It is judged by the journal's
 * time (docs/devices.md "Ingest").
 */
describe('ingest: the check of a record journaled before (its check lost in a crash)', () => {
  it('asks the registry as of when the record was journaled, not when the retry came', async () => {
    const { FakeChain } = await import('../gateway/fake-chain.js');
    const asked: number[] = [];
    class Registry extends FakeChain {
      recordAuthenticity(q: { existedBy: { time: number } }): Promise<Authenticity> {
        asked.push(q.existedBy.time);
        return Promise.resolve({ level: 'device-signed', detail: 'enrolled' });
      }
    }
    const later = Date.now() + 3 * 86_400_000; // the retry comes three days later
    const g = await startGateway({ chain: new Registry(), clock: () => new Date(later) });
    const cam = tempDir('liuhen-cam5-');
    try {
      const j = await Journal.open(cam.dir);
      let rec: LiuhenRecord;
      try {
        rec = (
          await j.append(
            { agency: AGENCY, device: 'BWC-CRASH', officer: '1', kind: 'event', body: {}, capturedAt: new Date().toISOString() },
            DeviceKey.generate(),
          )
        ).record;
      } finally {
        await j.close();
      }
      // Journaled, then the station died before the check was kept.
      await g.liuhen.journal.ingest(rec);
      const journaledAt = (await g.liuhen.journal.getRecord(rec.id))!.journaledAt;
      const res = await g.call('/v1/records/signed', {
        method: 'POST',
        token: g.t.agency,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ record: rec }),
      });
      expect(res.status).toBe(200);
      expect(asked).toEqual([Math.floor(journaledAt / 1000)]);
    } finally {
      await g.close();
      cam.cleanup();
    }
  }, 60_000);
});

/**
 * Red team: a device's retry arriving while its first upload of the same record is still
 * being journaled (the first answer lost on a bad link) was refused INVALID_RECORD (400)
 * — "your record is bad" for evidence being journaled that very moment. It is a re-upload:
 * one upload gets 201, the other 200 duplicate, both with the same check.
 */
describe('ingest: the same record uploaded twice at once', () => {
  it('neither upload is refused: one 201, one 200 duplicate', async () => {
    const { FakeChain } = await import('../gateway/fake-chain.js');
    class Registry extends FakeChain {
      recordAuthenticity(): Promise<Authenticity> {
        return Promise.resolve({ level: 'device-signed', detail: 'enrolled' });
      }
    }
    const g = await startGateway({ chain: new Registry() });
    const cam = tempDir('liuhen-cam6-');
    try {
      const j = await Journal.open(cam.dir);
      const key = DeviceKey.generate();
      const recs: LiuhenRecord[] = [];
      try {
        for (let i = 0; i < 20; i++)
          recs.push(
            (await j.append({ agency: AGENCY, device: 'BWC-TWICE', officer: '1', kind: 'event', body: { i }, capturedAt: new Date().toISOString() }, key))
              .record,
          );
      } finally {
        await j.close();
      }
      const send = (r: LiuhenRecord) =>
        g
          .call('/v1/records/signed', {
            method: 'POST',
            token: g.t.agency,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ record: r }),
          })
          .then(async (res) => ({ status: res.status, body: await res.json() }));
      for (const r of recs) {
        const both = await Promise.all([send(r), send(r)]);
        expect(both.map((x) => x.status).sort(), JSON.stringify(both.map((x) => x.body))).toEqual([200, 201]);
        expect(both[0].body.deviceCheck).toEqual(both[1].body.deviceCheck);
      }
      expect(await g.recordCount()).toBe(20);
    } finally {
      await g.close();
      cam.cleanup();
    }
  }, 60_000);
});
