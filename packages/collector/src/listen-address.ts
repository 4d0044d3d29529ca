import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';

/** True only for addresses no other machine can reach; a host name other than localhost may resolve anywhere. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** The URL of what the server is really bound to (0.0.0.0 stays 0.0.0.0: it is every interface). */
export function listeningUrl(address: AddressInfo | string | null): string {
  if (address === null) return 'http://(not listening)';
  if (typeof address === 'string') return `unix:${address}`;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
