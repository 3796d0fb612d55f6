import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKey, Journal } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { AGENCY, OTHER, startGateway, type Harness } from './harness.js';

/** Records made and signed on a body camera (its own journal), uploaded later through the gateway. */
describe('POST /v1/records/signed', () => {
  let h: Harness;
  const camera = tempDir('liuhen-cam-');
  const made: Awaited<ReturnType<Journal['append']>>['record'][] = [];
  beforeAll(async () => {
    h = await startGateway();
    const j = await Journal.open(camera.dir);
    const key = DeviceKey.generate();
    for (let i = 0; i < 5; i++) {
      made.push(
        (
          await j.append(
            {
              agency: AGENCY,
              device: 'BWC-0042',
              officer: '37010042',
              kind: 'video',
              media: { type: 'video/mp4', size: 10 + i, sha256: String(i).repeat(64) },
              capturedAt: `2026-11-27T10:0${i}:00+08:00`,
            },
            key,
          )
        ).record,
      );
    }
    await j.close();
  });
  afterAll(async () => {
    await h.close();
    camera.cleanup();
  });

  const post = (record: unknown, token = h.t.agency) =>
    h.call('/v1/records/signed', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record }) });

  it('journals device-signed records verbatim; a withheld clip shows as a hole', async () => {
    for (const r of [made[0], made[1], made[3], made[4]]) {
      const res = await post(r);
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ id: r!.id, seq: r!.seq, duplicate: false });
    }
    const cont = await (await h.call('/v1/devices/BWC-0042/continuity', { token: h.t.supervisor })).json();
    expect(cont.findings).toEqual([expect.objectContaining({ code: 'DEVICE_SEQ_HOLE', missing: { from: 3, to: 3 } })]);
    // Re-upload: 200, duplicate.
    const again = await post(made[0]);
    expect(again.status).toBe(200);
    expect((await again.json()).duplicate).toBe(true);
  });

  it('refuses altered records, other agencies and junk, journaling nothing', async () => {
    const before = await h.recordCount();
    const altered = await post({ ...made[2], officer: '37019999' });
    expect(altered.status).toBe(400);
    expect((await altered.json()).error.code).toBe('SIGNATURE_INVALID');
    const other = await post(made[2], h.t.otherAgency);
    expect(other.status).toBe(403);
    const junk = await post({ ...made[2], extra: 1 });
    expect(junk.status).toBe(400);
    expect((await post(made[2], h.t.supervisor)).status).toBe(403);
    expect(await h.recordCount()).toBe(before);
    expect(OTHER).not.toBe(AGENCY);
  });
});
