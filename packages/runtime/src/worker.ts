/// <reference lib="webworker" />
// The engine's dedicated module worker: model bytes are fetched and cached here, never copied through the page.
import { createEngineCore, exposeEngineCore } from '@edgeinfer/engine/worker';
import { createLoader } from '@edgeinfer/loader';
import { createDefaultBackends } from './backends.js';

exposeEngineCore(createEngineCore({ backends: createDefaultBackends(), loader: createLoader() }));
