import { EdgeInferError } from './errors.js';
import { TENSOR_DTYPES, type TensorDtype } from './tensor.js';

export type ModelFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph';
export type VariantDtype = 'float32' | 'float16' | 'int8' | 'uint8';

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface VariantEncryption {
  readonly algorithm: 'AES-GCM';
  /** Base64 12-byte IV; the key is given by the app at load time, never in the manifest. */
  readonly iv: string;
}

/** A reference probe file beside the model files (see probe.ts); the tolerance here wins over the file's. */
export interface VariantProbe extends ManifestFile {
  readonly tolerance?: { readonly absolute: number; readonly relative: number };
}

export interface ManifestVariant {
  readonly format: ModelFormat;
  readonly dtype: VariantDtype;
  readonly files: readonly ManifestFile[];
  readonly encryption?: VariantEncryption;
  readonly probe?: VariantProbe;
  /** Made by the quantizer from another variant of the same version; its report is a file beside the model. */
  readonly quantization?: { readonly from: string; readonly report: ManifestFile };
}

/** A dim is a fixed size, or a name for a dynamic one (e.g. "batch"). */
export type Dim = number | string;

export interface TensorSpec {
  readonly name: string;
  readonly dtype: TensorDtype;
  readonly shape: readonly Dim[];
}

export interface Preprocessing {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly layout: 'NCHW' | 'NHWC';
  /** Pixel values are first scaled to [0, 1], then (x - mean) / std per channel. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Fashion-MNIST is white-on-black: photos of dark garments on light ground need inverting. */
  readonly invert?: boolean;
}

export interface ManifestVersion {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly preprocessing?: Preprocessing;
  readonly variants: Readonly<Record<string, ManifestVariant>>;
  readonly notes?: string;
}

export interface ManifestModel {
  readonly task: 'image-classification' | string;
  readonly labels?: readonly string[];
  readonly channels: {
    readonly stable: string;
    readonly canary?: { readonly version: string; readonly percent: number };
  };
  readonly revoked?: readonly string[];
  /** Earlier stable versions, oldest first (written by `edgeinfer-models promote`): where `rollback` goes back to. */
  readonly stableHistory?: readonly string[];
  readonly versions: Readonly<Record<string, ManifestVersion>>;
}

export interface Manifest {
  /** The JSON Schema of this file, for editors (the schema ships with @edgeinfer/models). */
  readonly $schema?: string;
  readonly schemaVersion: 1;
  readonly models: Readonly<Record<string, ManifestModel>>;
}

type Check = (value: unknown, path: string) => void;

function fail(path: string, problem: string): never {
  throw new EdgeInferError('core/invalid-manifest', `Invalid manifest at ${path}: ${problem}. Fix the manifest file and reload.`, {
    details: { path, problem },
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const object =
  (fields: Record<string, Check>, optional: readonly string[] = []): Check =>
  (value, path) => {
    if (!isRecord(value)) fail(path, `expected an object, got ${JSON.stringify(value)}`);
    for (const [key, check] of Object.entries(fields)) {
      if (!(key in value)) {
        if (optional.includes(key)) continue;
        fail(`${path}.${key}`, 'is required');
      }
      check(value[key], `${path}.${key}`);
    }
  };

const recordOf =
  (check: Check, { nonEmpty = true } = {}): Check =>
  (value, path) => {
    if (!isRecord(value)) fail(path, 'expected an object');
    if (nonEmpty && Object.keys(value).length === 0) fail(path, 'must not be empty');
    for (const [key, entry] of Object.entries(value)) check(entry, `${path}[${JSON.stringify(key)}]`);
  };

const arrayOf =
  (check: Check, { nonEmpty = false } = {}): Check =>
  (value, path) => {
    if (!Array.isArray(value)) fail(path, 'expected an array');
    if (nonEmpty && value.length === 0) fail(path, 'must not be empty');
    value.forEach((entry, index) => check(entry, `${path}[${index}]`));
  };

const string: Check = (value, path) => {
  if (typeof value !== 'string' || value.length === 0) fail(path, 'expected a non-empty string');
};

const oneOf =
  (...allowed: readonly string[]): Check =>
  (value, path) => {
    if (typeof value !== 'string' || !allowed.includes(value)) fail(path, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  };

const numberIn =
  (min: number, max: number, { integer = false } = {}): Check =>
  (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      fail(path, `expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(value)}`);
    }
  };

const sha256: Check = (value, path) => {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) fail(path, 'expected 64 lowercase hex characters (SHA-256)');
};

const dim: Check = (value, path) => {
  if (typeof value === 'string' && value.length > 0) return;
  numberIn(1, Number.MAX_SAFE_INTEGER, { integer: true })(value, path);
};

const tensorSpec = object({
  name: string,
  dtype: oneOf(...TENSOR_DTYPES),
  shape: arrayOf(dim),
});

const variant = object(
  {
    format: oneOf('onnx', 'tfjs-layers', 'tfjs-graph'),
    dtype: oneOf('float32', 'float16', 'int8', 'uint8'),
    files: arrayOf(object({ path: string, size: numberIn(0, Number.MAX_SAFE_INTEGER, { integer: true }), sha256 }), { nonEmpty: true }),
    encryption: object({ algorithm: oneOf('AES-GCM'), iv: string }),
    quantization: object({ from: string, report: object({ path: string, size: numberIn(0, Number.MAX_SAFE_INTEGER, { integer: true }), sha256 }) }),
    probe: object(
      {
        path: string,
        size: numberIn(0, Number.MAX_SAFE_INTEGER, { integer: true }),
        sha256,
        tolerance: object({ absolute: numberIn(0, Number.MAX_VALUE), relative: numberIn(0, Number.MAX_VALUE) }),
      },
      ['tolerance'],
    ),
  },
  ['encryption', 'probe', 'quantization'],
);

const preprocessing = object(
  {
    width: numberIn(1, 8192, { integer: true }),
    height: numberIn(1, 8192, { integer: true }),
    channels: (value, path) => {
      if (value !== 1 && value !== 3) fail(path, 'expected 1 or 3');
    },
    layout: oneOf('NCHW', 'NHWC'),
    mean: arrayOf(numberIn(-1e6, 1e6), { nonEmpty: true }),
    std: arrayOf(numberIn(1e-12, 1e6), { nonEmpty: true }),
    invert: (value, path) => {
      if (typeof value !== 'boolean') fail(path, 'expected a boolean');
    },
  },
  ['invert'],
);

const version = object(
  {
    // A model may take no inputs (a generator of constants, as ONNX's test_constant is).
    inputs: arrayOf(tensorSpec),
    outputs: arrayOf(tensorSpec, { nonEmpty: true }),
    preprocessing,
    variants: recordOf(variant),
    notes: string,
  },
  ['preprocessing', 'notes'],
);

const model = object(
  {
    task: string,
    labels: arrayOf(string, { nonEmpty: true }),
    channels: object({ stable: string, canary: object({ version: string, percent: numberIn(0, 100) }) }, ['canary']),
    revoked: arrayOf(string),
    stableHistory: arrayOf(string),
    versions: recordOf(version),
  },
  ['labels', 'revoked', 'stableHistory'],
);

const manifestShape = object(
  {
    $schema: string,
    schemaVersion: (value, path) => {
      if (value !== 1) fail(path, `expected 1, got ${JSON.stringify(value)}`);
    },
    models: recordOf(model),
  },
  ['$schema'],
);

/** Validates untrusted JSON and returns it typed; the error names the exact path that is wrong. */
export function parseManifest(json: unknown): Manifest {
  manifestShape(json, 'manifest');
  const manifest = json as Manifest;
  for (const [modelId, entry] of Object.entries(manifest.models)) {
    const path = `manifest.models[${JSON.stringify(modelId)}]`;
    const known = (name: string) => name in entry.versions;
    if (!known(entry.channels.stable)) fail(`${path}.channels.stable`, `version "${entry.channels.stable}" is not in versions`);
    if (entry.channels.canary && !known(entry.channels.canary.version)) {
      fail(`${path}.channels.canary.version`, `version "${entry.channels.canary.version}" is not in versions`);
    }
    if (entry.revoked?.includes(entry.channels.stable)) fail(`${path}.channels.stable`, `version "${entry.channels.stable}" is revoked`);
    entry.stableHistory?.forEach((version, index) => {
      if (!known(version)) fail(`${path}.stableHistory[${index}]`, `version "${version}" is not in versions`);
    });
    for (const [versionId, versionEntry] of Object.entries(entry.versions)) {
      for (const [variantId, variant] of Object.entries(versionEntry.variants)) {
        // One IV may encrypt one file only: AES-GCM with a reused IV and key leaks plaintext.
        if (variant.probe && variant.files.some((file) => file.path === variant.probe!.path)) {
          fail(`${path}.versions[${JSON.stringify(versionId)}].variants[${JSON.stringify(variantId)}].probe.path`, 'the probe must be a file of its own, not one of the model files');
        }
        if (variant.encryption && variant.files.length !== 1) {
          fail(`${path}.versions[${JSON.stringify(versionId)}].variants[${JSON.stringify(variantId)}].encryption`, 'an encrypted variant must have exactly one file');
        }
      }
      const pre = versionEntry.preprocessing;
      if (pre && (pre.mean.length !== pre.channels || pre.std.length !== pre.channels)) {
        fail(`${path}.versions[${JSON.stringify(versionId)}].preprocessing`, `mean and std need ${pre.channels} values`);
      }
    }
  }
  return manifest;
}
