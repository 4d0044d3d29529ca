// The engine worker for TF.js-only apps: onnxruntime-web is not imported, so bundlers emit none of it.
import { createTfjsBackends } from '@edgeinfer/backend-tfjs';
import { hostEngine } from './worker-host.js';

hostEngine(createTfjsBackends);
