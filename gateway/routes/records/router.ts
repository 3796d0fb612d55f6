import { receiptSchema } from '../../../src/index.js';
import { errorResponses } from '../../http/docs.js';
import { recordIdParams } from '../../http/ids.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { createRecord, createSignedRecord, getContent, getReceipt, getRecord } from './handler.js';
import { bodyRecordSchema, createdSchema, recordViewSchema, signedRecordSchema, uploadFormSchema } from './schema.js';

const create: RouteSpec = defineRoute({
  method: 'post',
  path: '/v1/records',
  tag: 'records',
  summary: 'Record evidence: a streamed file (multipart: meta, then file) or structured content (JSON {meta, body})',
  description:
    "multipart/form-data: a `meta` field (JSON: device, officer, case?, stage?, kind, capturedAt, type?, location?) that must come before the `file` part. The file is hashed, encrypted into the evidence store and journaled in one streaming pass. An interrupted or oversized upload journals nothing (encrypted blocks already written stay as unreferenced garbage in the store). An agency token records for its own agency only, and only for devices that are not another agency's.",
  access: ['agency'],
  audit: true,
  body: bodyRecordSchema,
  multipart: uploadFormSchema,
  responses: { 201: { description: 'journaled (durable)', schema: createdSchema }, ...errorResponses(400, 401, 403, 413, 415, 503) },
  handler: (ctx, req, res) => createRecord(ctx, create, req, res),
});

const createSigned: RouteSpec = defineRoute({
  method: 'post',
  path: '/v1/records/signed',
  tag: 'records',
  summary: 'Journal a record signed on its device (seq, prev, salt, sig as the device made them)',
  description:
    "For devices that run the SDK: the record is verified (schema, Ed25519 signature) and journaled verbatim, so its leaf is the device's own. A record beyond the device's last seq leaves a hole that the continuity check reports; a late record may fill an empty slot; another record for a taken seq is refused (a fork); the same record again answers 200 with duplicate: true.",
  access: ['agency'],
  audit: true,
  body: signedRecordSchema,
  responses: {
    201: { description: 'journaled (durable)', schema: createdSchema },
    200: { description: 'already journaled', schema: createdSchema },
    ...errorResponses(400, 401, 403, 413, 415),
  },
  handler: createSignedRecord,
});

export const recordRoutes: RouteSpec[] = [
  create,
  createSigned,
  defineRoute({
    method: 'get',
    path: '/v1/records/:id',
    tag: 'records',
    summary: 'A record with its batch, anchor and notary status',
    access: ['supervisor', 'agency'],
    audit: true,
    params: recordIdParams,
    responses: { 200: { description: 'the record', schema: recordViewSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: getRecord,
  }),
  defineRoute({
    method: 'get',
    path: '/v1/records/:id/receipt',
    tag: 'records',
    summary: "A sealed record's receipt (liuhen-receipt/1), with anchor and attestations when the chain has them",
    access: ['supervisor', 'agency'],
    audit: true,
    params: recordIdParams,
    responses: { 200: { description: 'the receipt', schema: receiptSchema }, ...errorResponses(400, 401, 403, 404, 409) },
    handler: getReceipt,
  }),
  defineRoute({
    method: 'get',
    path: '/v1/records/:id/content',
    tag: 'records',
    summary: 'The original file, decrypted and re-hashed on the way out (a mismatch is an error, never served)',
    access: ['supervisor'],
    audit: true,
    params: recordIdParams,
    responses: {
      200: { description: 'the file bytes (X-Liuhen-Sha256 carries the recorded SHA-256)', contentType: 'application/octet-stream' },
      ...errorResponses(400, 401, 403, 404, 500, 503),
    },
    handler: getContent,
  }),
];
