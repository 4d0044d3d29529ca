import { EdgeInferError, type VariantEncryption } from '@edgeinfer/core';

export type DecryptionKey = CryptoKey | Uint8Array;

function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Encrypted variants stay encrypted in the cache; plaintext exists only in memory. */
export async function decryptFile(bytes: ArrayBuffer, encryption: VariantEncryption, key: DecryptionKey | undefined, path: string): Promise<ArrayBuffer> {
  if (!key) {
    throw new EdgeInferError('loader/decrypt', `${path} is encrypted: pass { decryptionKey } to load it.`, { details: { file: path } });
  }
  try {
    const cryptoKey = key instanceof Uint8Array ? await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['decrypt']) : key;
    return await crypto.subtle.decrypt({ name: 'AES-GCM', iv: base64ToBytes(encryption.iv) }, cryptoKey, bytes);
  } catch (cause) {
    throw new EdgeInferError('loader/decrypt', `${path} could not be decrypted: the key is wrong or the file was altered.`, {
      details: { file: path },
      cause,
    });
  }
}
