import { isEdgeInferError, type ErrorCode } from '@edgeinfer/core';

export { createLoader } from '../src/index.js';
export type { LoadProgress } from '../src/index.js';
export const isEdgeInferErrorCode = (error: unknown, code: ErrorCode) => isEdgeInferError(error, code);
