import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const staticDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'static');

/** chart.js from node_modules: the dashboard works on a network with no way out to a CDN. */
function chartJsPath(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(entry), 'chart.umd.js');
}

/**
 * Scripts only from this origin, none inline: event fields are untrusted, and even if one ever
 * reached the DOM as markup the browser would refuse to run it. The page itself uses textContent.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const ASSETS = [
  { route: '/', file: () => join(staticDir, 'dashboard.html'), type: 'text/html; charset=utf-8' },
  { route: '/dashboard.js', file: () => join(staticDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  { route: '/operations.js', file: () => join(staticDir, 'operations.js'), type: 'text/javascript; charset=utf-8' },
  { route: '/dashboard.css', file: () => join(staticDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  { route: '/vendor/chart.umd.js', file: chartJsPath, type: 'text/javascript; charset=utf-8' },
] as const;

export function registerDashboard(app: FastifyInstance): void {
  for (const asset of ASSETS) {
    let body: Buffer | undefined;
    app.get(asset.route, async (_request, reply) => {
      body ??= readFileSync(asset.file());
      return reply
        .header('content-type', asset.type)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body);
    });
  }
}
