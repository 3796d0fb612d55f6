import { z } from 'zod';
import type { RouteSpec } from './http/route.js';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that
 * validate the requests (JSON Schema 2020-12 is OpenAPI 3.1's dialect).
 * Schemas named with `.meta({ id })` become components.
 */
type Json = Record<string, unknown>;

export function buildOpenApi(routes: readonly RouteSpec[], info: { version: string }): Json {
  const components: Record<string, Json> = {};
  const anonymous = new Map<string, string>();
  const convert = (schema: z.ZodType): Json => {
    const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    const defs = (js.$defs ?? {}) as Record<string, Json>;
    delete js.$defs;
    delete js.$schema;
    // Unnamed shared schemas (zod's `__schemaN`, e.g. recursive JSON) are numbered per conversion: give them document-wide names.
    const names = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) {
      if (!name.startsWith('__schema')) continue;
      const text = JSON.stringify(def);
      let global = anonymous.get(text);
      if (!global) anonymous.set(text, (global = `Shared${anonymous.size + 1}`));
      names.set(name, global);
    }
    const fix = (v: unknown) => rewrite(v, names);
    for (const [name, def] of Object.entries(defs)) components[names.get(name) ?? name] = fix(def) as Json;
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id === 'string') {
      // zod may already have put the named root into $defs (the root is then only a $ref to it).
      if (!(id in defs)) components[id] = fix(js) as Json;
      return { $ref: `#/components/schemas/${id}` };
    }
    return fix(js) as Json;
  };

  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: Json[] = [];
    const addParams = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
      if (!schema) return;
      const js = convert(schema);
      const props = (js.properties ?? {}) as Record<string, Json>;
      const required = new Set((js.required ?? []) as string[]);
      for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: s });
    };
    addParams(r.params, 'path');
    addParams(r.query, 'query');
    const content: Json = {};
    if (r.body) content['application/json'] = { schema: convert(r.body) };
    if (r.multipart) content['multipart/form-data'] = { schema: convert(r.multipart) };
    const responses: Json = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      responses[status] = {
        description: resp.description,
        ...(resp.schema
          ? { content: { 'application/json': { schema: convert(resp.schema) } } }
          : resp.contentType
            ? { content: { [resp.contentType]: { schema: { type: 'string', format: 'binary' } } } }
            : {}),
      };
    }
    if (r.access !== 'public')
      responses['401'] ??= {
        description: 'no valid token (UNAUTHORIZED)',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    (paths[path] ??= {})[r.method] = {
      // Generated clients name their methods after it (issue 14): explicit, else from method and path, unique by construction.
      operationId: r.operationId ?? operationIdOf(r.method, r.path),
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      responses,
      ...(r.access === 'public' ? { security: [] } : { security: [{ bearer: [] }], 'x-roles': [...r.access] }),
      ...(r.audit ? { 'x-audited': true } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Liuhen gateway (留痕)',
      version: info.version,
      description:
        'Tamper-evident, notarized law-enforcement evidence: ingest, verification, case timelines, device continuity. Errors are {"error":{"code","message"}}. Roles: admin, agency (its own agency only), notary, supervisor; tokens as `Authorization: Bearer lh_…`.',
    },
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'lh_<id>_<secret> token from an admin' } } },
    paths,
  };
}

/** `get /v1/records/:id/receipt` → `getRecordsByIdReceipt`. */
export function operationIdOf(method: string, path: string): string {
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const words = path
    .split('/')
    .filter((p) => p && p !== 'v1')
    .map((p) =>
      p.startsWith(':')
        ? `By${cap(p.slice(1))}`
        : p
            .split(/[^A-Za-z0-9]+/)
            .filter(Boolean)
            .map(cap)
            .join(''),
    );
  return method + words.join('');
}

function rewrite(v: unknown, names: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(v)) return v.map((x) => rewrite(x, names));
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '$schema') continue;
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/$defs/')) {
        const name = x.slice('#/$defs/'.length);
        out[k] = `#/components/schemas/${names.get(name) ?? name}`;
      } else out[k] = rewrite(x, names);
    }
    return out;
  }
  return v;
}
