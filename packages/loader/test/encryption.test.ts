import 'fake-indexeddb/auto';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createStore, entries } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { createLoader, isEdgeInferErrorCode } from './loader-test-support.js';

const plaintext = new Uint8Array(readFileSync(new URL('../../../models/fashion-mnist/1.0.0/model.onnx', import.meta.url)));
const rawKey = new Uint8Array(randomBytes(32));
const iv = new Uint8Array(randomBytes(12));

async function encryptedSetup() {
  const key = await crypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['encrypt']);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plaintext));
  const manifest = {
    schemaVersion: 1,
    models: {
      secret: {
        task: 'image-classification',
        channels: { stable: '1.0.0' },
        versions: {
          '1.0.0': {
            inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
            outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
            variants: {
              fp32: {
                format: 'onnx',
                dtype: 'float32',
                encryption: { algorithm: 'AES-GCM', iv: Buffer.from(iv).toString('base64') },
                files: [{ path: 'model.onnx.enc', size: ciphertext.length, sha256: createHash('sha256').update(ciphertext).digest('hex') }],
              },
            },
          },
        },
      },
    },
  };
  // The network edge: a server that holds only the encrypted file.
  const serve: typeof fetch = async (input) => {
    const url = String(input);
    if (url.endsWith('manifest.json')) return new Response(JSON.stringify(manifest), { headers: { 'content-type': 'application/json' } });
    return new Response(ciphertext, { headers: { 'content-type': 'application/octet-stream' } });
  };
  return { ciphertext, serve };
}

describe('encrypted variants', () => {
  it('decrypt in memory with the key given at load time, and stay encrypted in the cache', async () => {
    const { ciphertext, serve } = await encryptedSetup();
    const loader = createLoader({ databaseName: 'encrypted-1', installId: 'x', fetch: serve });
    const resolved = await loader.resolve({ manifestUrl: 'https://models.example/manifest.json', modelId: 'secret' });

    await expect(loader.fetchVariant(resolved, { variant: 'fp32' })).rejects.toSatisfy((error: unknown) => isEdgeInferErrorCode(error, 'loader/decrypt'));
    await expect(loader.fetchVariant(resolved, { variant: 'fp32', decryptionKey: new Uint8Array(32) })).rejects.toSatisfy((error: unknown) =>
      isEdgeInferErrorCode(error, 'loader/decrypt'),
    );
    const loaded = await loader.fetchVariant(resolved, { variant: 'fp32', decryptionKey: rawKey });
    expect(new Uint8Array(loaded.files['model.onnx.enc']!)).toEqual(plaintext);

    const stored = await entries<string, unknown>(createStore('encrypted-1', 'files'));
    const chunks = stored.filter(([key]) => String(key).startsWith('chunk:'));
    expect(chunks).toHaveLength(1);
    expect(new Uint8Array(await (chunks[0]![1] as Blob).arrayBuffer())).toEqual(ciphertext);
  });
});
