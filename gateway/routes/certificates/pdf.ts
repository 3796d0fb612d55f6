import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import type { LiuhenRecord, Receipt } from '../../../src/index.js';

/**
 * The evidence certificate (出证) as an A4 PDF, made with pdfkit.
 *
 * The CJK font ships with the project: `assets/fonts/NotoSansSC-Regular-GB2312.otf`,
 * a subset of Noto Sans CJK SC (SIL Open Font License 1.1, `assets/fonts/OFL.txt`;
 * the OFL allows subsetting and redistribution) covering GB 2312, ASCII and
 * common CJK punctuation — nothing is downloaded at run time and no system
 * font is needed. pdfkit embeds only the glyphs used.
 */
export interface CertificateInput {
  certificateId: string;
  issuedAt: string;
  issuedBy: string;
  record: LiuhenRecord;
  leaf: string;
  journaledAt: number;
  receipt: Receipt;
  batch: { seq: number; sealedAt: string; size: number };
  chain: { phase: string; notarized: boolean };
  verifyUrl: string;
  origin: string;
  /** Display names (issue 14): the agencies' and notaries' names printed next to their codes and addresses. */
  names?: { agencies: Record<string, string>; notaries: Record<string, string> } | undefined;
}

/** "济南市城市管理局 (JN-CGJ)", or the code alone when it has no name. */
export function agencyLine(code: string, names: CertificateInput['names']): string {
  const name = names?.agencies[code];
  return name ? `${name} (${code})` : code;
}

/** "济南市泉城公证处 · 0x…"; an address without a name is marked as such, never printed bare. */
export function notaryLine(address: string, names: CertificateInput['names']): string {
  const name = names?.notaries[address];
  return `${name ?? '未登记名称的公证机构 unnamed notary'} · ${address}`;
}

let fontPath: string | undefined;
export function certificateFont(): string {
  if (fontPath) return fontPath;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'assets', 'fonts', 'NotoSansSC-Regular-GB2312.otf');
    if (existsSync(p)) return (fontPath = p);
    dir = dirname(dir);
  }
  throw new Error('assets/fonts/NotoSansSC-Regular-GB2312.otf not found next to package.json');
}

const STAGE: Record<string, string> = {
  onsite: '现场执法',
  filing: '立案',
  investigation: '调查取证',
  review: '法制审核',
  decision: '决定',
  service: '送达',
  execution: '执行',
  closing: '结案',
};
const KIND: Record<string, string> = { video: '视频', photo: '照片', audio: '录音', document: '文书', form: '表单', event: '设备事件' };

const cst = (ms: number) => `${new Date(ms + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19)} (UTC+8)`;
const iso = (s: string) => cst(Date.parse(s));

export async function renderCertificate(c: CertificateInput): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 48, bottom: 48, left: 54, right: 54 },
    info: { Title: `电子数据存证证明 ${c.certificateId}`, Author: agencyLine(c.issuedBy, c.names), Subject: `record ${c.record.id}`, Creator: 'Liuhen 留痕' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('cjk', certificateFont());
  doc.font('cjk');
  const width = doc.page.width - 108;
  const r = c.record;
  const rc = c.receipt;

  doc.fontSize(20).text('电子数据存证证明', { align: 'center' });
  doc.fontSize(10).fillColor('#555').text('Evidence certificate — Liuhen 留痕 (区块链+公证)', { align: 'center' });
  doc
    .moveDown(0.3)
    .text(`证明编号 Certificate No. ${c.certificateId}    出具 Issued ${iso(c.issuedAt)}    出具机构 ${agencyLine(c.issuedBy, c.names)}`, { align: 'center' });
  doc.fillColor('#000').moveDown(0.8);

  const section = (title: string) => {
    doc.moveDown(0.4).fontSize(12).fillColor('#8b1a1a').text(title).fillColor('#000').fontSize(9.5);
    doc
      .moveTo(54, doc.y + 1)
      .lineTo(54 + width, doc.y + 1)
      .strokeColor('#cccccc')
      .stroke()
      .moveDown(0.3);
  };
  const row = (label: string, value: string) => {
    const y = doc.y;
    doc.fillColor('#555').text(label, 54, y, { width: 120 });
    const h1 = doc.y;
    doc.fillColor('#000').text(value, 180, y, { width: width - 126 });
    doc.y = Math.max(h1, doc.y) + 2;
    doc.x = 54;
  };

  // QR of the public verdict, top right of the first section.
  const qr = await QRCode.toBuffer(c.verifyUrl, { type: 'png', errorCorrectionLevel: 'M', margin: 1, width: 240 });
  const qrTop = doc.y;
  doc.image(qr, 54 + width - 96, qrTop, { width: 96 });
  doc
    .fontSize(7)
    .fillColor('#555')
    .text('扫码核验 Scan to verify', 54 + width - 100, qrTop + 98, { width: 104, align: 'center' })
    .fillColor('#000');
  doc.x = 54;
  doc.y = qrTop;

  section('一、记录内容 What was recorded');
  const narrow = (label: string, value: string) => {
    const y = doc.y;
    doc.fillColor('#555').text(label, 54, y, { width: 120 });
    const h1 = doc.y;
    doc.fillColor('#000').text(value, 180, y, { width: width - 236 });
    doc.y = Math.max(h1, doc.y) + 2;
    doc.x = 54;
  };
  narrow('记录编号 Record', r.id);
  narrow('类型 Kind', `${KIND[r.kind] ?? r.kind} (${r.kind})`);
  if (r.media) {
    narrow('文件类型 Media type', r.media.type);
    narrow('大小 Size', `${r.media.size.toLocaleString('en')} bytes`);
    narrow('SHA-256', r.media.sha256);
    if (r.media.cid) narrow('存储地址 CID', r.media.cid);
  }
  narrow('采集时间 Captured', iso(r.capturedAt));
  narrow('设备 Device', r.device);
  narrow('执法人员 Officer', r.officer);
  narrow('执法部门 Agency', agencyLine(r.agency, c.names));
  if (r.case) narrow('案件 Case', r.case);
  if (r.stage) narrow('环节 Stage', `${STAGE[r.stage] ?? r.stage} (${r.stage})`);
  if (r.location) narrow('位置 Location', `${r.location.lat}, ${r.location.lon}`);

  section('二、留痕过程 Journaled, sealed, anchored, notarized');
  row('写入日志 Journaled', cst(c.journaledAt));
  row('设备链位置 Device chain', `${r.device} 第 ${r.seq} 条 (seq ${r.seq}); 前一条 prev ${r.prev}`);
  row('叶子哈希 Leaf', c.leaf);
  row('封批 Sealed', `${iso(c.batch.sealedAt)} · 批次 batch #${c.batch.seq} · ${c.batch.size} 条 records · 位置 index ${rc.inclusion.index}`);
  row('批次根 Root', rc.batch.root);
  if (rc.anchor) {
    row('上链 Anchored', `链 chain ${rc.anchor.chainId} · 区块 block ${rc.anchor.blockNumber} · ${cst(rc.anchor.timestamp * 1000)}`);
    row('合约 Registry', rc.anchor.registry);
    row('交易 Transaction', rc.anchor.txHash);
    row('区块哈希 Block hash', rc.anchor.blockHash);
  } else row('上链 Anchored', `尚未上链 not yet anchored (${c.chain.phase})`);
  if (rc.attestations.length > 0) {
    for (const a of rc.attestations) row('公证 Notary', `${notaryLine(a.notary, c.names)} · 签署 attested ${cst(a.attestedAt * 1000)}`);
    row('公证状态 Notarized', c.chain.notarized ? '已达公证门槛 notarized (threshold met)' : '公证签名未达门槛 below threshold');
  } else row('公证 Notary', '尚无公证签名 no notary co-signature yet');

  section('三、独立核验方法 How anyone can verify this independently');
  doc.text(
    [
      `1. 扫描二维码或打开 ${c.verifyUrl} ,查看公开核验结论(不含个人信息)。`,
      '2. 用命令行核验原始文件与回执 (receipt attached to this PDF as receipt.json, also printed below):',
      '   liuhen verify receipt.json <原始文件 original file>',
      '   它重新计算 SHA-256、RFC 6962 叶子哈希与默克尔证明,并向链上合约核对批次根与公证签名。',
      `3. 直接调用合约 (registry ${rc.anchor?.registry ?? '—'}) 的 verifyInclusion(agency, root, leaf, index, proof)`,
      `   agency = ${r.agency}, root = ${rc.batch.root}, leaf = ${c.leaf}, index = ${rc.inclusion.index};`,
      '   proof 为回执 inclusion.proof 中的哈希;返回 true 即证明本记录在该批次中、且该批次已上链。',
      `4. 本证明文件本身的 SHA-256 已登记于留痕日志(证明编号 ${c.certificateId}),并随市司法局批次上链;`,
      `   核对打印件或文件: ${c.origin}/v1/certificates/<本文件的 SHA-256>。文件被改动则查无此证明。`,
    ].join('\n'),
    { width },
  );

  // The receipt, attached and printed (so a paper copy carries it too).
  const receiptText = JSON.stringify(rc, null, 1);
  doc.file(Buffer.from(receiptText, 'utf8'), { name: 'receipt.json', type: 'application/json', description: 'liuhen-receipt/1 of the record' });
  doc.addPage();
  doc.fontSize(12).fillColor('#8b1a1a').text('附:存证回执 Appendix: the receipt (liuhen-receipt/1)').fillColor('#000').moveDown(0.3);
  doc.fontSize(6.5).text(receiptText, { width });
  doc.end();
  return done;
}
