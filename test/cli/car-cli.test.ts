import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aesGcmKeyWrapper, Liuhen, openEvidenceStore } from '../../src/index.js';
import { jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('liuhen car export / import', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('moves a stored, encrypted file to another folder by record id; the bytes come back under the same key', async () => {
    const a = join(t.dir, 'a');
    const b = join(t.dir, 'b');
    Liuhen.init(a, { agency: 'JN-CG', device: 'cam-1', officer: 'O-1' });
    const kek = aesGcmKeyWrapper({ keyId: 'kek-1', agency: 'JN-CG', kek: randomBytes(32) });
    const bytes = randomBytes(700_000);
    const lh = await Liuhen.open(a);
    const store = await openEvidenceStore({ kind: 'local', dir: join(a, 'store') }, kek);
    const id = '01JDQ7Z8X9Y0ABCDEFGHJKMNPQ';
    const put = await store.put([bytes], { recordId: id, agency: 'JN-CG' });
    await lh.append({
      id,
      agency: 'JN-CG',
      device: 'cam-1',
      officer: 'O-1',
      kind: 'video',
      media: { type: 'video/mp4', size: put.size, sha256: put.sha256, cid: put.cid },
      capturedAt: new Date().toISOString(),
    });
    await store.close();
    await lh.close();

    const car = join(t.dir, 'out.car');
    const ex = liuhen(['--data', a, '--json', 'car', 'export', id, '-o', car]);
    expect(ex.status, ex.stderr).toBe(0);
    expect(jsonLines(ex.stdout)[0]).toEqual({ output: car, cids: [put.cid] });
    expect(existsSync(`${car}.partial`)).toBe(false);

    const im = liuhen(['--data', b, '--json', 'car', 'import', car]);
    expect(im.status, im.stderr).toBe(0);
    expect(jsonLines(im.stdout)[0]).toEqual({ imported: [put.cid] });
    const other = await openEvidenceStore({ kind: 'local', dir: join(b, 'store') }, kek);
    const back: Buffer[] = [];
    for await (const chunk of other.get(put.cid, { recordId: id, expectedSha256: put.sha256 })) back.push(Buffer.from(chunk));
    await other.close();
    expect(Buffer.concat(back).equals(bytes)).toBe(true);

    // A record without a stored file, and a missing CAR, are clear errors.
    expect(liuhen(['--data', b, 'car', 'import', join(t.dir, 'nope.car')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/cannot read/) });
  });
});
