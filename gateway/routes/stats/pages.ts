import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';

/**
 * The supervision pages and the one vendored library they need.
 *
 *   GET /supervision                     overview for supervisors (figures, charts, findings, feedback queue)
 *   GET /feedback                        citizens' status lookup by tracking code (码上监督; no login)
 *   GET /vendor/echarts/echarts.min.js   ECharts from node_modules (no CDN: the pages work offline
 *                                        inside a government network, and nothing third-party runs on them)
 */
const require = createRequire(import.meta.url);

export function createSupervisionPagesRouter(webRoot = findWebRoot()): Router {
  const router = Router();
  const page = (file: string) => (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-cache');
    res.sendFile(file, { root: webRoot, dotfiles: 'deny' });
  };
  router.get('/supervision', page('supervision.html'));
  router.get('/feedback', page('feedback.html'));
  const echarts = join(dirname(require.resolve('echarts/package.json')), 'dist', 'echarts.min.js');
  router.get('/vendor/echarts/echarts.min.js', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400');
    res.type('text/javascript').sendFile(echarts);
  });
  return router;
}

function findWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'web', 'supervision.html')) && existsSync(join(dir, 'package.json'))) return join(dir, 'web');
    dir = dirname(dir);
  }
  throw new Error('web/supervision.html not found next to package.json');
}
