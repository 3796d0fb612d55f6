import { existsSync, readFileSync } from 'node:fs';
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
 *   GET /vendor/noble-hashes/* the browser ESM files of @noble/hashes that sha2.js needs
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
  const vendor = nobleHashesFiles();
  const router = Router();

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
      setHeaders: (res) => res.set('Cache-Control', 'no-cache'),
    }),
  );
  router.use('/static', (_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such page asset' } });
  });

  // Only the files the import graph of sha2.js reaches, by exact name: nothing
  // else in node_modules is reachable from the web.
  router.get('/vendor/noble-hashes/:file', (req, res) => {
    const path = vendor.get(req.params.file);
    if (!path) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such vendored file' } });
      return;
    }
    res.set('Cache-Control', 'public, max-age=86400');
    res.type('text/javascript').sendFile(path);
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
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '' && LINK_PATH.test(url.pathname) && url.href === link;
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
 * @noble/hashes ships plain ES modules with relative imports only, so the
 * browser can load them as they are. Walks the import graph from sha2.js and
 * utils.js and refuses to start if a file imports anything but a sibling
 * (that would need a bundler, and this project has no build step).
 */
function nobleHashesFiles(): Map<string, string> {
  const root = dirname(require.resolve('@noble/hashes/sha2.js'));
  const files = new Map<string, string>();
  const queue = ['sha2.js', 'utils.js'];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (files.has(name)) continue;
    const path = resolve(root, name);
    files.set(name, path);
    const source = readFileSync(path, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      if (!/^\.\/[A-Za-z0-9_-]+\.js$/.test(spec)) throw new Error(`@noble/hashes/${name} imports "${spec}": not servable as browser ESM without a bundler`);
      queue.push(spec.slice(2));
    }
  }
  return files;
}
