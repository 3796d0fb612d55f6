import { createHash } from 'node:crypto';
import { z } from 'zod';
import { monotonicUlid, receiptFromJournal } from '../../../src/index.js';
import { chainStatus, receiptWithChain, type Context } from '../../context.js';
import { errorResponses } from '../../http/docs.js';
import { httpError } from '../../http/errors.js';
import { recordIdParams } from '../../http/ids.js';
import { assertAgencyScope, defineRoute, type RouteSpec } from '../../http/route.js';
import { journalSupervision, stats, supervisionConfig } from '../stats/service.js';
import { renderCertificate } from './pdf.js';
import { namesOf } from '../../names.js';

const nextId = monotonicUlid();

export const certificateLookupSchema = z
  .object({
    certificate: z.string().describe('certificate number = id of the journaled certificate record'),
    sha256: z.string(),
    record: z.string().describe('the record the certificate is about'),
    issuedAt: z.string(),
    receipt: z.unknown().nullable().describe('liuhen-receipt/1 of the certificate record once sealed'),
  })
  .meta({ id: 'CertificateLookup' });

export function certificateRoutes(app: Context): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/records/:id/certificate',
      tag: 'supervision',
      summary:
        "Evidence certificate (出证): an A4 PDF for courts — what, when journaled/sealed/anchored/notarized, device-chain position, QR of the public verdict, how to verify, the receipt attached; the PDF's SHA-256 is journaled and anchored",
      description:
        'Supervisors, and an agency for its own records. 409 RECORD_NOT_SEALED before sealing. The header X-Certificate-Sha256 gives the hash that was registered.',
      access: ['supervisor', 'agency'],
      audit: true,
      params: recordIdParams,
      responses: { 200: { description: 'the certificate', contentType: 'application/pdf' }, ...errorResponses(400, 401, 403, 404, 409, 503) },
      handler: async (ctx, req, res) => {
        const a = ctx.app;
        const stored = await a.journal.getRecord(ctx.params.id);
        if (!stored) throw httpError('NOT_FOUND', `no record with id ${ctx.params.id}`);
        assertAgencyScope(ctx.principal, stored.record.agency);
        if (stored.record.device === a.config.audit.device) throw httpError('FORBIDDEN', "the gateway's audit entries get no certificate");
        const loc = await a.journal.locate(stored);
        if (!loc) throw httpError('RECORD_NOT_SEALED', `record ${ctx.params.id} is not sealed into a batch yet; try again in a few seconds`);
        const { receipt, status } = await receiptWithChain(a, ctx.params.id);
        const sup = supervisionConfig(a);
        const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
        const certificateId = nextId();
        const names = await namesOf(a).resolve({ agencies: [stored.record.agency, sup.agency], notaries: receipt.attestations.map((x) => x.notary) });
        const pdf = await renderCertificate({
          certificateId,
          issuedAt: a.clock().toISOString(),
          issuedBy: sup.agency,
          record: stored.record,
          leaf: stored.leaf,
          journaledAt: stored.journaledAt,
          receipt,
          batch: { seq: loc.batch.seq, sealedAt: loc.batch.sealedAt, size: loc.batch.size },
          chain: { phase: status.phase, notarized: status.notarized },
          verifyUrl: `${origin}/v/${stored.leaf}`,
          origin,
          names,
        });
        const sha256 = createHash('sha256').update(pdf).digest('hex');
        // Registered before a byte is served: a certificate that is not on record is never handed out.
        const by = ctx.principal.role === 'agency' ? `token:${ctx.principal.tokenId}:${ctx.principal.agency}` : `token:${ctx.principal.tokenId}`;
        await journalSupervision(
          a,
          'certificatesDevice',
          by,
          { event: 'certificate', record: stored.record.id, recordLeaf: stored.leaf, sha256, by },
          certificateId,
        );
        ctx.auditIds.certificate = certificateId;
        res.set('Content-Type', 'application/pdf');
        res.set('Content-Disposition', `attachment; filename="certificate-${stored.record.id}.pdf"`);
        res.set('X-Certificate-Sha256', sha256);
        res.set('X-Certificate-Id', certificateId);
        res.set('Cache-Control', 'no-store');
        res.send(pdf);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/certificates/:hash',
      tag: 'supervision',
      summary: 'Is this certificate genuine? Looks a certificate PDF up by its SHA-256: a doctored file (or one never issued) is not found',
      access: 'public',
      before: [app.verifyLimiter],
      params: z.strictObject({
        hash: z
          .string()
          .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a SHA-256 (64 hex digits)')
          .transform((s) => s.replace(/^0x/, '').toLowerCase()),
      }),
      responses: { 200: { description: 'the certificate is registered', schema: certificateLookupSchema }, ...errorResponses(400, 404, 429) },
      handler: async (ctx, _req, res) => {
        const s = await stats(ctx.app, true);
        const c = await s.getCertificate(ctx.params.hash);
        if (!c) throw httpError('NOT_FOUND', 'no certificate with this SHA-256 was issued: the file is not a genuine certificate, or was altered');
        const stored = await ctx.app.journal.getRecord(c.certificateId);
        const loc = stored ? await ctx.app.journal.locate(stored) : undefined;
        let receipt: unknown = null;
        if (loc) {
          const r = await receiptFromJournal(ctx.app.journal, c.certificateId);
          const st = await chainStatus(ctx.app, loc.batch);
          receipt = { ...r, anchor: st.anchor ?? r.anchor, attestations: st.attestations.length > 0 ? st.attestations : r.attestations };
        }
        res.json({ certificate: c.certificateId, sha256: c.sha256, record: c.record, issuedAt: c.at, receipt });
      },
    }),
  ];
}
