// The engine's dedicated module worker with both libraries (onnxruntime-web and TF.js, each imported
// only when a model needs it): model bytes are fetched and cached here, never copied through the page.
import { createDefaultBackends } from './backends.js';
import { hostEngine } from './worker-host.js';

hostEngine(createDefaultBackends);
