/**
 * A supervision world for the page tests: four agencies over two weeks of
 * capture days (in the past), cases with and without legal review, a camera
 * with a deleted clip, batches anchored with different delays — served by the
 * real gateway (`createApp` + pages) over a real journal. The chain is the
 * FakeChain test double (anchor times set directly), as in test/gateway.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApp, silentLogger, TokenStore } from '../../gateway/index.js';
import { createPagesRouter } from '../../gateway/pages/router.js';
import {
  aesGcmKeyWrapper,
  DeviceKey,
  Journal,
  Liuhen,
  openEvidenceStore,
  staticKeyResolver,
  type EvidenceStore,
  type LiuhenRecord,
  type Stage,
} from '../../src/index.js';
import { FakeChain } from '../gateway/fake-chain.js';

export const AGENCIES = ['JN-CGJ', 'JN-SCJGJ', 'JN-JTYS', 'JN-STHJ'];
export const DAYS = 14;

export interface SupervisionWorld {
  url: string;
  supervisor: string;
  liuhen: Liuhen;
  chain: FakeChain;
  /** A record (leaf) the public can leave feedback on. */
  leaf: string;
  recordId: string;
  /** A sealed, anchored, notarized photo record: id, SHA-256, block. */
  photo: { id: string; sha256: string; block: number; notary: string };
  /** First and last capture day of the history (YYYY-MM-DD, UTC+8), `to` exclusive. */
  from: string;
  to: string;
  close(): Promise<void>;
}

const dayOf = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);

export async function buildSupervisionWorld(root: string, o: { withStore?: boolean } = {}): Promise<SupervisionWorld> {
  const dataDir = join(root, 'station');
  Liuhen.init(dataDir, { agency: AGENCIES[0]!, device: 'station-1', officer: 'GW-0001' });
  const liuhen = await Liuhen.open(dataDir);
  const chain = new FakeChain();
  const start = Date.now() - DAYS * 86_400_000;
  const at = (day: number, minutes: number) => new Date(start + day * 86_400_000 + minutes * 60_000).toISOString();
  let firstRecord: { id: string; leaf: string } | undefined;
  for (let day = 0; day < DAYS; day++) {
    for (const [ai, agency] of AGENCIES.entries()) {
      const c = `${agency}-${day}`;
      const stages: Stage[] = ['filing', 'investigation', ...(day % 3 === ai % 3 ? [] : ['review' as const]), 'decision', 'service'];
      for (const [i, stage] of stages.entries()) {
        const r = await liuhen.append({
          agency,
          device: `TERM-${ai}`,
          officer: `OF-${ai}`,
          case: c,
          stage,
          kind: 'form',
          body: { title: stage },
          capturedAt: at(day, 60 + i * 10),
        });
        firstRecord ??= { id: r.record.id, leaf: r.leaf };
      }
    }
    // One batch per agency and day, anchored 20 min after (late every third day for the 2nd agency).
    for (const b of await liuhen.journal.sealAll({ now: () => new Date(Date.parse(at(day, 110))) })) {
      const late = b.agency === AGENCIES[1] && day % 3 === 0;
      chain.anchor(b, {
        timestamp: Math.floor(Date.parse(b.lastCapturedAt) / 1000) + (late ? 3 * 3600 : 20 * 60),
        notaries: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
      });
    }
  }
  // A photo (its bytes are not stored: the certificate needs only the record) for 出证.
  const photo = Buffer.from('现场照片 / on-site photo bytes');
  const photoSha = createHash('sha256').update(photo).digest('hex');
  const photoRec = await liuhen.append({
    agency: AGENCIES[0]!,
    device: 'BWC-0001',
    officer: 'OF-0',
    case: `${AGENCIES[0]}-${DAYS - 1}`,
    stage: 'onsite',
    kind: 'photo',
    media: { type: 'image/jpeg', size: photo.length, sha256: photoSha },
    capturedAt: at(DAYS - 1, 30),
  });
  // A body camera with clips 3 and 7 deleted (two holes on two days).
  const cam = await Journal.open(join(root, 'camera'));
  const key = DeviceKey.generate();
  const made: LiuhenRecord[] = [];
  for (let i = 0; i < 10; i++)
    made.push(
      (
        await cam.append(
          {
            agency: AGENCIES[2]!,
            device: 'BWC-0301',
            officer: 'OF-9',
            kind: 'event',
            body: { event: 'clip', i },
            capturedAt: at(Math.floor(i / 2) + 3, 30 + i),
          },
          key,
        )
      ).record,
    );
  await cam.close();
  for (const r of made) if (r.seq !== 3 && r.seq !== 7) await liuhen.journal.ingest(r);
  let photoBlock = 0;
  for (const b of await liuhen.journal.sealAll()) {
    const a = chain.anchor(b, { timestamp: Math.floor(Date.now() / 1000), notaries: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'] });
    if (b.agency === AGENCIES[0]) photoBlock = a.blockNumber;
  }

  const tokens = await TokenStore.open(join(dataDir, 'gateway'));
  const { token: supervisor } = await tokens.create({ role: 'supervisor', label: 'supervision tests', createdBy: 'test' });
  let store: EvidenceStore | undefined;
  if (o.withStore) {
    const keys = staticKeyResolver(['JN-SFJ', ...AGENCIES].map((agency) => aesGcmKeyWrapper({ keyId: `kek-${agency}`, agency, kek: randomBytes(32) })));
    store = await openEvidenceStore({ kind: 'local', dir: join(dataDir, 'store'), durable: false }, keys);
  }
  const app = createApp({
    liuhen,
    tokens,
    chain,
    logger: silentLogger,
    pages: createPagesRouter(),
    ...(store ? { store } : {}),
    config: { rateLimit: { requests: 100_000, verify: 100_000, authFailures: 100_000 }, supervision: { catchUpWaitMs: 60_000 } },
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    supervisor,
    liuhen,
    chain,
    leaf: firstRecord!.leaf,
    photo: { id: photoRec.record.id, sha256: photoSha, block: photoBlock, notary: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    recordId: firstRecord!.id,
    from: dayOf(start),
    to: dayOf(Date.now() + 86_400_000),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const { drainApp } = await import('../../gateway/index.js');
      await drainApp(app);
      await store?.close();
      await liuhen.close();
    },
  };
}
