// The engine worker for ONNX-only apps: TensorFlow.js is not imported, so bundlers emit none of it.
import { createOrtBackends } from '@edgeinfer/backend-ort';
import { hostEngine } from './worker-host.js';

hostEngine(createOrtBackends);
