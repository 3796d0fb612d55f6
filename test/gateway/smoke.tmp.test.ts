import { test, expect } from 'vitest';
import { startGateway, uploadForm, meta } from './harness.js';

test('smoke', async () => {
  const h = await startGateway();
  try {
    let r = await h.call('/healthz');
    console.log(r.status, await r.json());
    r = await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: uploadForm(meta({ case: 'C-1', stage: 'onsite' }), new TextEncoder().encode('hello world\n')) });
    const created = await r.json();
    console.log(r.status, created);
    await h.liuhen.seal();
    r = await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.supervisor });
    const receipt = await r.json();
    console.log(r.status, JSON.stringify(receipt).slice(0, 200));
    r = await h.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ receipt, sha256: created.sha256 }) });
    console.log(r.status, JSON.stringify(await r.json()).slice(0, 600));
    r = await h.call(`/v1/records/${created.id}/content`, { token: h.t.supervisor });
    console.log(r.status, r.headers.get('content-type'), await r.text());
    r = await h.call(`/v1/verify/${created.leaf}`);
    console.log(r.status, JSON.stringify(await r.json()));
    r = await h.call(`/v1/cases/C-1`, { token: h.t.supervisor });
    console.log(r.status, JSON.stringify(await r.json()).slice(0, 400));
    r = await h.call(`/v1/devices/cam-1/continuity`, { token: h.t.supervisor });
    console.log(r.status, JSON.stringify(await r.json()).slice(0, 400));
    r = await h.call(`/v1/audit`, { token: h.t.admin });
    console.log(r.status, JSON.stringify(await r.json()).slice(0, 800));
    r = await h.call(`/openapi.json`);
    const doc = await r.json();
    console.log(r.status, Object.keys(doc.paths), Object.keys(doc.components.schemas));
    r = await h.call(`/v1/records/..%2F..%2Fetc%2Fpasswd`, { token: h.t.supervisor });
    console.log(r.status, await r.text());
    expect(1).toBe(1);
  } finally {
    await h.close();
  }
});
