import { EdgeInferError, type ManifestFile } from '@edgeinfer/core';

export interface DownloadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface DownloadOptions {
  readonly fetch: typeof fetch;
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: (loadedBytes: number) => void;
  /** Range retries after a connection breaks mid-file. */
  readonly maxResumes?: number;
}

const NOT_A_MODEL_TYPES = ['text/html', 'application/xhtml+xml'];

/**
 * Streams one file into memory. The expected size comes from the manifest (compressed responses
 * have no usable Content-Length). When the stream breaks, it resumes with a Range request from the
 * bytes already received, and starts over if the server ignores the Range.
 */
export async function downloadFile(url: string, file: ManifestFile, options: DownloadOptions): Promise<ArrayBuffer> {
  const buffer = new Uint8Array(file.size);
  // Updated as bytes arrive, so a broken stream resumes from what really reached us.
  const cursor = { position: 0 };
  let resumes = 0;
  const maxResumes = options.maxResumes ?? 3;
  for (;;) {
    try {
      await readInto(url, file, buffer, cursor, options);
      const received = cursor.position;
      if (received === file.size) return buffer.buffer;
      throw new EdgeInferError('loader/size-mismatch', `${file.path} ended after ${received} of ${file.size} bytes.`, {
        details: { file: file.path, receivedBytes: received, expectedBytes: file.size },
      });
    } catch (error) {
      if (options.signal?.aborted) throw abortError(file);
      const received = cursor.position;
      const retriable = !(error instanceof EdgeInferError) || (error.code === 'loader/size-mismatch' && received < file.size);
      if (!retriable || resumes >= maxResumes || received >= file.size) throw wrapNetworkError(error, url, file);
      resumes++;
    }
  }
}

async function readInto(url: string, file: ManifestFile, buffer: Uint8Array, cursor: { position: number }, options: DownloadOptions): Promise<void> {
  const offset = cursor.position;
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
  const response = await options.fetch(url, { headers, signal: options.signal ?? null, cache: 'no-store' });
  checkResponse(response, url, file);
  if (offset > 0 && response.status !== 206) cursor.position = 0; // Range ignored: the body is the whole file.
  if (!response.body) throw new EdgeInferError('loader/network', `${url} answered with no body.`, { details: { url } });
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (cursor.position + value.byteLength > file.size) {
      await reader.cancel();
      throw new EdgeInferError('loader/size-mismatch', `${file.path} is larger than the ${file.size} bytes the manifest declares; the manifest and the server disagree.`, {
        details: { file: file.path, expectedBytes: file.size, url },
      });
    }
    buffer.set(value, cursor.position);
    cursor.position += value.byteLength;
    options.onBytes?.(cursor.position);
  }
}

function checkResponse(response: Response, url: string, file: ManifestFile): void {
  if (!response.ok) {
    throw new EdgeInferError('loader/http-status', `${url} answered HTTP ${response.status}. Check that the file is published at that path.`, {
      details: { url, status: response.status, file: file.path },
    });
  }
  const type = response.headers.get('content-type') ?? '';
  if (NOT_A_MODEL_TYPES.some((bad) => type.includes(bad)) && !file.path.endsWith('.html')) {
    throw new EdgeInferError('loader/not-a-model', `${url} answered with ${type}, not a model file: the server probably served an error or index page.`, {
      details: { url, contentType: type, file: file.path },
    });
  }
}

function wrapNetworkError(error: unknown, url: string, file: ManifestFile): EdgeInferError {
  if (error instanceof EdgeInferError) return error;
  return new EdgeInferError('loader/network', `Could not download ${file.path} from ${url}: ${(error as Error)?.message ?? error}. Check the connection and retry.`, {
    details: { url, file: file.path },
    cause: error,
  });
}

export function abortError(file?: ManifestFile): EdgeInferError {
  return new EdgeInferError('loader/aborted', `The model load was aborted${file ? ` while downloading ${file.path}` : ''}.`, {
    details: file ? { file: file.path } : {},
  });
}
