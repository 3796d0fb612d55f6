import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';

/**
 * The web pages (Verify, Case, Device, Receipt) and their static assets.
 *
 *   GET /                      Verify page (drop a file and its receipt)
 *   GET /v/:leaf               the same page opened from a receipt's QR code (public verdict)
 *   GET /cases/:case           case timeline (supervisor token asked by the page)
 *   GET /devices/:device       body-camera continuity (supervisor)
 *   GET /records/:id           a record's receipt with its QR code (supervisor)
 *   GET /static/*              web/ as-is: HTML, CSS, plain ES modules (no build step)
 *   GET /vendor/hash-wasm/sha256.umd.min.js  hash-wasm's SHA-256, loaded by the hashing worker
 *   GET /qr.svg?link=…         QR code of a public verification link, rendered server-side
 *
 * The pages hold no data: they call the JSON API (`/v1/...`) from the browser,
 * and the evidence file is hashed in the browser and never uploaded.
 */
export interface PagesOptions {
  /** Folder of the static pages. Default: the package's `web/`. */
  webRoot?: string;
}

const require = createRequire(import.meta.url);

export function createPagesRouter(options: PagesOptions = {}): Router {
  const webRoot = options.webRoot ?? findWebRoot();
  const hashWasm = hashWasmFile();
  const router = Router();

  const workerPath = resolve(webRoot, 'js', 'hash-worker.js');
  const page = (file: string) => (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache');
    res.sendFile(file, { root: webRoot, dotfiles: 'deny' });
  };
  router.get('/', page('index.html'));
  router.get('/v/:leaf', page('index.html'));
  router.get('/cases/:case', page('case.html'));
  router.get('/devices/:device', page('device.html'));
  router.get('/records/:id', page('record.html'));

  router.use(
    '/static',
    express.static(webRoot, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res, path) => {
        res.set('Cache-Control', 'no-cache');
        // The hashing worker compiles hash-wasm's WebAssembly: its own policy (a
        // worker's CSP is the one delivered with its script, CSP3 §6.1) adds
        // 'wasm-unsafe-eval' — WebAssembly only, never JavaScript eval — to helmet's.
        if (path === workerPath) res.set('Content-Security-Policy', WORKER_CSP);
      },
    }),
  );
  router.use('/static', (_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such page asset' } });
  });

  // One file, by exact name: nothing else in node_modules is reachable from the web.
  router.get('/vendor/hash-wasm/sha256.umd.min.js', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400');
    res.type('text/javascript').sendFile(hashWasm);
  });

  router.get('/qr.svg', async (req, res) => {
    const link = typeof req.query.link === 'string' ? req.query.link : '';
    if (!isVerificationLink(link)) {
      res.status(400).json({ error: { code: 'INVALID_INPUT', message: 'link must be an http(s) URL of the form <origin>/v/0x<64 hex digits>' } });
      return;
    }
    const svg = await QRCode.toString(link, QR_OPTIONS);
    res.set('Cache-Control', 'public, max-age=86400');
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type('image/svg+xml').send(svg);
  });

  return router;
}

/** The options the QR endpoint renders with (exported so tests can re-render and compare). */
/** helmet's default policy, plus WebAssembly compilation, for the hashing worker only. */
export const WORKER_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'none'; object-src 'none'; base-uri 'none'";

export const QR_OPTIONS = { type: 'svg', errorCorrectionLevel: 'M', margin: 2 } as const;

const LINK_PATH = /^\/v\/0x[0-9a-f]{64}$/;

/** `<origin>/v/<leaf>` and nothing else: the QR endpoint is not a general-purpose encoder. */
export function isVerificationLink(link: string): boolean {
  if (link.length === 0 || link.length > 300) return false;
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    url.hash === '' &&
    LINK_PATH.test(url.pathname) &&
    url.href === link
  );
}

/** The package's `web/` folder, from the sources (gateway/pages) or the build (dist/gateway/pages). */
function findWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'web', 'index.html')) && existsSync(join(dir, 'package.json'))) return join(dir, 'web');
    dir = dirname(dir);
  }
  throw new Error('web/ not found next to package.json above gateway/pages');
}

/**
 * hash-wasm's UMD build of SHA-256 alone (18 KB, the WebAssembly inlined):
 * a classic worker loads it with importScripts, no bundler needed.
 */
function hashWasmFile(): string {
  const path = join(dirname(require.resolve('hash-wasm')), 'sha256.umd.min.js');
  if (!existsSync(path)) throw new Error(`hash-wasm: ${path} missing (the Verify page hashes with it)`);
  return path;
}
