import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/**
 * A plain static server for one directory, as a CDN or nginx would serve model files: ETag and
 * Last-Modified on every file, 304 to a matching If-None-Match / If-Modified-Since, CORS (with the
 * preflight a conditional request needs) and CORP so a cross-origin-isolated page may read it.
 * Files are read on every request, so a test that rewrites a file sees the server serve the new one.
 */
export interface StaticDirServer {
  readonly url: string;
  readonly requests: { method: string; path: string; status: number; ifNoneMatch?: string }[];
  close(): Promise<void>;
}

export async function startStaticDirServer(root: string): Promise<StaticDirServer> {
  const requests: StaticDirServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const relative = normalize(decodeURIComponent(url.pathname.slice(1)));
    const log = (status: number) =>
      requests.push({ method: req.method ?? 'GET', path: url.pathname, status, ...(req.headers['if-none-match'] ? { ifNoneMatch: String(req.headers['if-none-match']) } : {}) });
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Last-Modified');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Headers': 'If-None-Match, If-Modified-Since, Range', 'Access-Control-Allow-Methods': 'GET, HEAD' }).end();
      return log(204);
    }
    const file = join(root, relative);
    let bytes: Buffer;
    let modified: Date;
    try {
      if (relative.startsWith('..')) throw new Error('outside');
      modified = statSync(file).mtime;
      bytes = readFileSync(file);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return log(404);
    }
    const etag = `"${createHash('sha1').update(bytes).digest('hex')}"`;
    const headers = {
      'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      ETag: etag,
      'Last-Modified': modified.toUTCString(),
      'Cache-Control': 'no-cache',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return log(304);
    }
    res.writeHead(200, { ...headers, 'Content-Length': bytes.length }).end(bytes);
    log(200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
