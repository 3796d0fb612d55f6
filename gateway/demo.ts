import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { DeviceKey, Journal, LiuhenError, type ErrorCode, type LiuhenRecord } from '../src/index.js';
import { runFile } from './system.js';
import { enrollDemoDevices, revokeStolenCamera, type DemoEnrollment } from './demo-devices.js';
import { runSupervisionDemo } from './demo-supervision.js';

const fail = (code: ErrorCode, message: string): never => {
  throw new LiuhenError(code, message);
};

/**
 * `liuhen demo` / `npm run demo`: fills a running system with a realistic
 * sample over the HTTP API, as enforcement apps would — two agencies, several
 * devices, cases going through their stages with photos, short generated
 * videos and forms — including a case with a missing legal review, a body
 * camera with a deleted clip, and a record anchored late.
 */
export interface DemoParameters {
  dataDir: string;
  /** Gateway URL; default from the running system's run file. */
  url?: string | undefined;
  onProgress?: ((line: string) => void) | undefined;
  /** How long to wait for anchoring and notarization. @default 90 s */
  waitMs?: number | undefined;
}

export interface DemoSummary {
  url: string;
  records: number;
  cases: string[];
  devices: string[];
  pages: string[];
  notarized: boolean;
  /** A sample evidence file and its receipt on disk (try them on the Verify page). */
  sample?: { file: string; receipt: string };
  /** True when the demo data was already there (nothing was added). */
  alreadyThere?: boolean;
  /** Issue 13: the body camera whose key was revoked as stolen, and its records uploaded after the compromise time (flagged). */
  revoked?: { device: string; compromisedAt: string; flagged: string[]; before: string[] };
}

interface RunInfo {
  url: string;
  rpc?: string;
  registry?: string;
  tokens: { admin: string; supervisor: string; agency: string; notary: string };
  agencyTokens: Record<string, string>;
}

export const DEMO = {
  cgj: 'JN-CGJ',
  scj: 'JN-SCJGJ',
  completeCase: '济城管罚〔2026〕101号',
  missingReviewCase: '济市监罚〔2026〕42号',
  deletedClipDevice: 'BWC-0202',
  /** Issue 13: a body camera stolen on patrol — its key is revoked, records uploaded after the compromise time are flagged. */
  stolenCamera: 'BWC-0204',
} as const;

const DEMO_DEVICES = ['BWC-0101', 'TERM-0101', 'BWC-0201', 'TERM-0201', 'BWC-0203', DEMO.deletedClipDevice, DEMO.stolenCamera];

export async function runDemo(p: DemoParameters): Promise<DemoSummary> {
  const say = p.onProgress ?? (() => {});
  const run = readRun(p.dataDir);
  const url = (p.url ?? run.url).replace(/\/$/, '');
  const [cgj, scj] = Object.keys(run.agencyTokens);
  if (!cgj || !scj) return fail('CONFIG_INVALID', 'the running system serves one agency; the demo needs two (start from a fresh data folder)');
  const api = client(url);
  const ids: string[] = [];

  // Run again on a system that has the demo data: add nothing (a second copy would only duplicate it), point at what is there.
  const existing = await api.caseRecords(run.tokens.supervisor, DEMO.completeCase);
  if (existing.length > 0) {
    say(
      `the demo data is already in this system (case ${DEMO.completeCase}: ${existing.length} records); nothing added — start from a fresh data folder for a new sample`,
    );
    const photo = existing.find((r) => r.kind === 'photo') ?? existing[0]!;
    const pages = [
      `${url}/cases/${encodeURIComponent(DEMO.completeCase)}`,
      `${url}/cases/${encodeURIComponent(DEMO.missingReviewCase)}`,
      `${url}/devices/${DEMO.deletedClipDevice}`,
      `${url}/devices/${DEMO.stolenCamera}`,
      `${url}/records/${photo.id}`,
      `${url}/v/${photo.leaf}`,
    ];
    const sample = await saveSample(api, run.tokens.supervisor, p.dataDir, photo.id, say);
    say('open (supervisor token from `npm start`):');
    for (const page of pages) say(`  ${page}`);
    return {
      url,
      records: 0,
      cases: [DEMO.completeCase, DEMO.missingReviewCase],
      devices: DEMO_DEVICES,
      pages,
      notarized: Boolean(photo.chain?.notarized),
      alreadyThere: true,
      ...(sample ? { sample } : {}),
    };
  }
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

  // ── Case 1 (城管): the full process, every stage in order ────────────────
  say(`case ${DEMO.completeCase} (${cgj}): the full process`);
  const t1 = run.agencyTokens[cgj]!;
  const c1 = { case: DEMO.completeCase };
  ids.push(
    await api.form(
      t1,
      { device: 'BWC-0101', officer: '37010001', ...c1, stage: 'onsite', kind: 'event', capturedAt: at(50) },
      { event: 'recording-start', note: '现场执法开始' },
    ),
  );
  ids.push(
    await api.file(
      t1,
      { device: 'BWC-0101', officer: '37010001', ...c1, stage: 'onsite', kind: 'video', capturedAt: at(49), type: 'video/x-yuv4mpeg' },
      'onsite.y4m',
      y4m(7),
    ),
  );
  ids.push(
    await api.file(
      t1,
      { device: 'BWC-0101', officer: '37010001', ...c1, stage: 'onsite', kind: 'photo', capturedAt: at(48), type: 'image/png' },
      'stall.png',
      png(1),
    ),
  );
  ids.push(
    await api.form(t1, { device: 'BWC-0101', officer: '37010001', ...c1, stage: 'onsite', kind: 'event', capturedAt: at(47) }, { event: 'recording-stop' }),
  );
  for (const [stage, title, minutes] of [
    ['filing', '立案审批表', 45],
    ['investigation', '询问笔录', 40],
    ['review', '法制审核意见书', 30],
    ['decision', '行政处罚决定书', 25],
    ['service', '送达回证', 20],
    ['execution', '罚没款缴纳凭证', 15],
    ['closing', '结案报告', 10],
  ] as const) {
    ids.push(
      await api.form(
        t1,
        { device: 'TERM-0101', officer: '37010001', ...c1, stage, kind: 'form', capturedAt: at(minutes) },
        { title, decisionNo: DEMO.completeCase },
      ),
    );
  }

  // ── Case 2 (市场监管): decided without a legal review ────────────────────
  say(`case ${DEMO.missingReviewCase} (${scj}): a decision without the legal review`);
  const t2 = run.agencyTokens[scj]!;
  const c2 = { case: DEMO.missingReviewCase };
  ids.push(await api.form(t2, { device: 'TERM-0201', officer: '37020007', ...c2, stage: 'filing', kind: 'form', capturedAt: at(44) }, { title: '立案审批表' }));
  ids.push(
    await api.file(
      t2,
      { device: 'BWC-0201', officer: '37020007', ...c2, stage: 'investigation', kind: 'photo', capturedAt: at(42), type: 'image/png' },
      'label.png',
      png(2),
    ),
  );
  ids.push(
    await api.file(
      t2,
      { device: 'BWC-0201', officer: '37020007', ...c2, stage: 'investigation', kind: 'video', capturedAt: at(41), type: 'video/x-yuv4mpeg' },
      'shelf.y4m',
      y4m(5),
    ),
  );
  ids.push(
    await api.form(t2, { device: 'TERM-0201', officer: '37020007', ...c2, stage: 'decision', kind: 'form', capturedAt: at(28) }, { title: '行政处罚决定书' }),
  );
  ids.push(await api.form(t2, { device: 'TERM-0201', officer: '37020007', ...c2, stage: 'service', kind: 'form', capturedAt: at(22) }, { title: '送达回证' }));

  // ── Issue 13: the agencies enroll their stations and body cameras' keys on the registry ──
  const cameraKey = DeviceKey.generate();
  const stolenKey = DeviceKey.generate();
  const stationKey = await api.signingKey(run.tokens.supervisor, ids[0]!);
  const enrollment: DemoEnrollment | undefined = await enrollDemoDevices({
    dataDir: p.dataDir,
    rpc: run.rpc,
    registry: run.registry,
    stations: { [cgj]: stationKey, [scj]: stationKey },
    cameras: [
      { agency: scj, device: DEMO.deletedClipDevice, publicKey: cameraKey.publicKey },
      { agency: scj, device: DEMO.stolenCamera, publicKey: stolenKey.publicKey },
    ],
    validFrom: Math.floor(now / 1000) - 86_400,
    say,
  });

  // ── A body camera with a deleted clip: it signs on the device, one clip never arrives ──
  say(`device ${DEMO.deletedClipDevice} (${scj}): a clip deleted on the camera`);
  const camera = mkdtempSync(join(tmpdir(), 'liuhen-camera-'));
  try {
    const made = await recordOnCamera(camera, scj, DEMO.deletedClipDevice, at, cameraKey);
    for (const [i, r] of made.entries()) {
      if (i === 2) continue; // clip 2 (seq 3) was deleted on the camera
      ids.push(await api.signed(t2, r));
    }
  } finally {
    rmSync(camera, { recursive: true, force: true });
  }

  // ── Issue 13: a body camera stolen on patrol. Two records reach the station and the chain before the theft is
  //    declared; the agency then revokes the key as compromised from that moment, and the thief's later uploads
  //    — whatever capture time they claim — are kept, and flagged (at ingest and in every verdict).
  let revoked: DemoSummary['revoked'];
  if (enrollment) {
    say(`device ${DEMO.stolenCamera} (${scj}): stolen on patrol — its key is revoked, later uploads are flagged`);
    const stolenDir = mkdtempSync(join(tmpdir(), 'liuhen-camera-'));
    try {
      const made = await recordStolenCamera(stolenDir, scj, DEMO.stolenCamera, at, stolenKey);
      const before = [await api.signed(t2, made[0]!), await api.signed(t2, made[1]!)];
      ids.push(...before);
      say('  waiting for its first records to be anchored (before the theft is declared)…');
      if (!(await waitUntil('anchored', api, run.tokens.supervisor, before, p.waitMs ?? 90_000))) say('  not anchored in time: they will be flagged too');
      const compromisedAt = await revokeStolenCamera(enrollment, { agency: scj, device: DEMO.stolenCamera, reason: '执法记录仪巡查时被盗 (stolen on patrol)' });
      say(`  key revoked as compromised from ${new Date(compromisedAt * 1000).toISOString()}`);
      // The thief's uploads reach the station strictly after the compromise time (the station judges by its own clock, to the second).
      for (let i = 0; i < 20 && Date.now() / 1000 < compromisedAt + 1.2; i++) await new Promise((r) => setTimeout(r, 250));
      const flagged: string[] = [];
      for (const r of made.slice(2)) {
        const res = await api.signedWithCheck(t2, r);
        flagged.push(res.id);
        say(`  record ${r.seq} uploaded after the compromise time: kept, the station's check: ${res.code ?? '(none)'}`);
      }
      ids.push(...flagged);
      revoked = { device: DEMO.stolenCamera, compromisedAt: new Date(compromisedAt * 1000).toISOString(), flagged, before };
    } finally {
      rmSync(stolenDir, { recursive: true, force: true });
    }
  }

  // ── A record synchronised three hours after capture: anchored late ─────
  say('a photo captured three hours ago, uploaded only now: anchored late');
  ids.push(
    await api.file(
      t2,
      { device: 'BWC-0203', officer: '37020011', case: DEMO.missingReviewCase, stage: 'onsite', kind: 'photo', capturedAt: at(180), type: 'image/png' },
      'late.png',
      png(3),
    ),
  );

  // ── Wait for the real-time loop: sealed, anchored, notarized ────────────
  say(`${ids.length} records journaled; waiting for anchoring and notarization…`);
  const notarized = await waitUntil('notarized', api, run.tokens.supervisor, ids, p.waitMs ?? 90_000);
  say(notarized ? 'every record is anchored and notarized' : 'not every record is notarized yet (is the notary running?)');

  const firstLeaf = await api.leafOf(run.tokens.supervisor, ids[1]!);
  const pages = [
    `${url}/cases/${encodeURIComponent(DEMO.completeCase)}`,
    `${url}/cases/${encodeURIComponent(DEMO.missingReviewCase)}`,
    `${url}/devices/${DEMO.deletedClipDevice}`,
    `${url}/records/${ids[1]}`,
    `${url}/v/${firstLeaf}`,
  ];
  if (revoked) {
    pages.push(`${url}/devices/${DEMO.stolenCamera}`);
    pages.push(`${url}/v/${await api.leafOf(run.tokens.supervisor, revoked.flagged[0]!)}`);
  }
  // Supervision (issue 12): feedback in every state, a finding marked.
  const leaves: string[] = [];
  for (const id of [ids[1]!, ids[5]!, ids[12]!, ids[14]!, ids.at(-1)!]) leaves.push(await api.leafOf(run.tokens.supervisor, id));
  const supervision = await runSupervisionDemo({ url, supervisorToken: run.tokens.supervisor, leaves, say });
  pages.push(...supervision.pages);
  const sample = await saveSample(api, run.tokens.supervisor, p.dataDir, ids[2]!, say);
  say('open (supervisor token from `npm start`):');
  for (const page of pages) say(`  ${page}`);
  return {
    url,
    records: ids.length,
    cases: [DEMO.completeCase, DEMO.missingReviewCase],
    devices: DEMO_DEVICES,
    pages,
    notarized,
    ...(sample ? { sample } : {}),
    ...(revoked ? { revoked } : {}),
  };
}

/** Downloads one evidence file and its receipt into `<data>/demo/`, for the Verify page; a failure is said, not fatal. */
async function saveSample(
  api: ReturnType<typeof client>,
  token: string,
  dataDir: string,
  id: string,
  say: (l: string) => void,
): Promise<{ file: string; receipt: string } | undefined> {
  try {
    const dir = join(dataDir, 'demo');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'sample-evidence.png');
    const receipt = join(dir, 'sample-evidence.png.receipt.json');
    writeFileSync(file, await api.bytes(token, `/v1/records/${id}/content`));
    writeFileSync(receipt, await api.bytes(token, `/v1/records/${id}/receipt`));
    say(`sample evidence: ${file}`);
    say(`its receipt:     ${receipt}   (drop both on the Verify page, or: liuhen verify ${file} --receipt ${receipt})`);
    return { file, receipt };
  } catch (e) {
    say(`no sample file written: ${(e as Error).message}`);
    return undefined;
  }
}

function readRun(dataDir: string): RunInfo {
  const path = runFile(dataDir);
  if (!existsSync(path))
    fail('CONFIG_MISSING', `no running Liuhen system for ${dataDir}: start it first with \`npm start\` (or \`liuhen start --data ${dataDir}\`)`);
  return JSON.parse(readFileSync(path, 'utf8')) as RunInfo;
}

/** A body camera running the SDK: start, three clips, stop — each signed on the device. */
async function recordOnCamera(dir: string, agency: string, device: string, at: (m: number) => string, key: DeviceKey): Promise<LiuhenRecord[]> {
  const journal = await Journal.open(dir);
  const made: LiuhenRecord[] = [];
  const base = { agency, device, officer: '37020009' };
  try {
    made.push((await journal.append({ ...base, kind: 'event', body: { event: 'recording-start' }, capturedAt: at(39) }, key)).record);
    for (const [i, minutes] of [38, 37, 36].entries()) {
      const clip = y4m(3 + i);
      made.push(
        (
          await journal.append(
            {
              ...base,
              kind: 'video',
              media: { type: 'video/x-yuv4mpeg', size: clip.length, sha256: createHash('sha256').update(clip).digest('hex') },
              capturedAt: at(minutes),
            },
            key,
          )
        ).record,
      );
    }
    made.push((await journal.append({ ...base, kind: 'event', body: { event: 'recording-stop' }, capturedAt: at(35) }, key)).record);
    return made;
  } finally {
    await journal.close();
  }
}

/** The stolen camera: a photo and a clip before the theft, then two photos made by whoever holds it (claiming earlier capture times). */
async function recordStolenCamera(dir: string, agency: string, device: string, at: (m: number) => string, key: DeviceKey): Promise<LiuhenRecord[]> {
  const journal = await Journal.open(dir);
  const base = { agency, device, officer: '37020015' };
  const photo = (seed: number, minutes: number) => {
    const bytes = png(seed);
    return {
      ...base,
      kind: 'photo' as const,
      media: { type: 'image/png', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
      capturedAt: at(minutes),
    };
  };
  try {
    const made: LiuhenRecord[] = [];
    for (const [seed, minutes] of [
      [41, 34],
      [42, 33],
      [43, 31],
      [44, 30],
    ] as const)
      made.push((await journal.append(photo(seed, minutes), key)).record);
    return made;
  } finally {
    await journal.close();
  }
}

function client(url: string) {
  const request = async (path: string, token: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const err = (body.error ?? {}) as { code?: string; message?: string };
      fail('INVALID_INPUT', `${init.method ?? 'GET'} ${path} answered ${res.status}: ${err.code ?? ''} ${err.message ?? ''}`);
    }
    return body;
  };
  return {
    async form(token: string, meta: Record<string, unknown>, body: Record<string, unknown>): Promise<string> {
      const r = await request('/v1/records', token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ meta, body }) });
      return r.id as string;
    },
    async file(token: string, meta: Record<string, unknown>, name: string, bytes: Buffer): Promise<string> {
      const form = new FormData();
      form.append('meta', JSON.stringify(meta));
      form.append('file', new Blob([new Uint8Array(bytes)], { type: String(meta.type ?? 'application/octet-stream') }), name);
      const r = await request('/v1/records', token, { method: 'POST', body: form });
      return r.id as string;
    },
    async signed(token: string, record: LiuhenRecord): Promise<string> {
      const r = await request('/v1/records/signed', token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ record }),
      });
      return r.id as string;
    },
    /** Like `signed`, with the station's ingest-time device check (issue 13). */
    async signedWithCheck(token: string, record: LiuhenRecord): Promise<{ id: string; code: string | undefined }> {
      const r = await request('/v1/records/signed', token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ record }),
      });
      return { id: r.id as string, code: (r.deviceCheck as { code?: string } | undefined)?.code };
    },
    async status(token: string, id: string): Promise<{ notarized: boolean; anchored: boolean; leaf: string }> {
      const r = await request(`/v1/records/${id}`, token);
      const chain = r.chain as { notarized?: boolean; phase?: string } | null;
      return { notarized: Boolean(chain?.notarized), anchored: chain?.phase === 'anchored' || chain?.phase === 'final', leaf: r.leaf as string };
    },
    /** The public key that signed a record (the station's, for records sent to POST /v1/records). */
    async signingKey(token: string, id: string): Promise<string> {
      const r = await request(`/v1/records/${id}`, token);
      const key = (r.record as { sig?: { key?: string } } | undefined)?.sig?.key;
      if (!key) return fail('INVALID_INPUT', `record ${id} carries no signature`);
      return key;
    },
    async caseRecords(token: string, caseId: string): Promise<{ id: string; leaf: string; kind: string; chain: { notarized?: boolean } | null }[]> {
      const res = await fetch(`${url}/v1/cases/${encodeURIComponent(caseId)}`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 404) return [];
      if (!res.ok) fail('INVALID_INPUT', `GET /v1/cases answered ${res.status}`);
      return ((await res.json()) as { records?: { id: string; leaf: string; kind: string; chain: { notarized?: boolean } | null }[] }).records ?? [];
    },
    async bytes(token: string, path: string): Promise<Buffer> {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) fail('INVALID_INPUT', `GET ${path} answered ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async leafOf(token: string, id: string): Promise<string> {
      return (await this.status(token, id)).leaf;
    },
  };
}

/** Waits until every record's status says `what` (anchored, or notarized), at most `waitMs`; false when some never did. */
async function waitUntil(what: 'anchored' | 'notarized', api: ReturnType<typeof client>, token: string, ids: string[], waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let pending = [...ids];
  while (pending.length > 0 && Date.now() < deadline) {
    const still: string[] = [];
    for (const id of pending) if (!(await api.status(token, id))[what]) still.push(id);
    pending = still;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 1000));
  }
  return pending.length === 0;
}

/** A small real PNG (RGB, 96×64): a gradient tinted by `seed`. */
export function png(seed: number, w = 96, h = 64): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = (seed * 70) & 255;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A short real video in YUV4MPEG2 (160×120, 4:2:0, 10 fps): a bar moving across. */
export function y4m(seconds: number, w = 160, h = 120, fps = 10): Buffer {
  const frames: Buffer[] = [Buffer.from(`YUV4MPEG2 W${w} H${h} F${fps}:1 Ip A1:1 C420jpeg\n`, 'ascii')];
  for (let f = 0; f < seconds * fps; f++) {
    const y = Buffer.alloc(w * h, 40);
    const bar = (f * 4) % w;
    for (let row = 0; row < h; row++) y.fill(220, row * w + bar, row * w + Math.min(bar + 12, w));
    frames.push(Buffer.from('FRAME\n', 'ascii'), y, Buffer.alloc((w / 2) * (h / 2), 128), Buffer.alloc((w / 2) * (h / 2), 128));
  }
  return Buffer.concat(frames);
}
