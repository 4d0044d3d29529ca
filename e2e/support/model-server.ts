import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export const MODELS_DIR = new URL('../../models/', import.meta.url).pathname;

/**
 * A real HTTP server for the models folder that misbehaves on purpose, chosen per request by the
 * first path segment:
 *   /ok/...            serves the file (honours Range)
 *   /truncate-once/... the first full request of each file stops half way and drops the connection
 *   /html/...          answers 200 text/html (a SPA fallback page)
 *   /corrupt/...       flips one byte in the middle of the file
 *   /status-500/...    answers 500
 * Every request is logged, so tests can assert what was (not) fetched.
 */
export interface ModelServer {
  readonly url: string;
  readonly requests: { path: string; range?: string }[];
  /** Serve this JSON as every manifest.json (a rollout change, a revocation); undefined restores the file. */
  setManifest(manifest: unknown): void;
  /** Answer every manifest.json with `200 text/html`, as a captive portal or a SPA fallback does; false restores it. */
  setCaptivePortal(on: boolean): void;
  close(): Promise<void>;
}

export async function startModelServer(): Promise<ModelServer> {
  const requests: { path: string; range?: string }[] = [];
  const truncated = new Set<string>();
  let manifestOverride: string | undefined;
  let captivePortal = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, mode = '', ...rest] = url.pathname.split('/');
    const relative = normalize(decodeURIComponent(rest.join('/')));
    requests.push({ path: url.pathname, ...(req.headers.range ? { range: req.headers.range } : {}) });
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const file = join(MODELS_DIR, relative);
    let size: number;
    try {
      if (relative.startsWith('..')) throw new Error('outside');
      size = statSync(file).size;
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    if (captivePortal && relative === 'manifest.json') {
      return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>Sign in to the Wi-Fi</title><form>...</form>');
    }
    if (manifestOverride !== undefined && relative === 'manifest.json') {
      return void res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(manifestOverride);
    }
    if (mode === 'status-500') return void res.writeHead(500).end('boom');
    if (mode === 'html') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>');
    if (mode === 'corrupt') {
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
      return void res.writeHead(200, { 'Content-Type': type, 'Content-Length': bytes.length }).end(bytes);
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (range) res.writeHead(206, { 'Content-Type': type, 'Content-Length': size - start, 'Content-Range': `bytes ${start}-${size - 1}/${size}` });
    else res.writeHead(200, { 'Content-Type': type, 'Content-Length': size });
    if (mode === 'truncate-once' && !range && !truncated.has(relative) && !file.endsWith('.json')) {
      truncated.add(relative);
      const half = readFileSync(file).subarray(0, size >> 1);
      res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    createReadStream(file, { start }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setManifest: (manifest) => {
      manifestOverride = manifest === undefined ? undefined : JSON.stringify(manifest);
    },
    setCaptivePortal: (on) => {
      captivePortal = on;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
