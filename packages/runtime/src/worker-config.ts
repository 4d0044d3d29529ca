// The page hands the worker its settings in the Worker's `name`: readable synchronously when the
// worker module starts, before the engine is created, and it needs no extra message round trip.
const PREFIX = 'edgeinfer-engine';

export interface WorkerConfig {
  readonly assetsBaseUrl?: string | undefined;
  /** Backend ids (or names) to import and instantiate as soon as the worker starts. */
  readonly warm?: readonly string[] | undefined;
}

export function workerName(config: WorkerConfig): string {
  const settings = { ...(config.assetsBaseUrl ? { assetsBaseUrl: config.assetsBaseUrl } : {}), ...(config.warm?.length ? { warm: config.warm } : {}) };
  return Object.keys(settings).length ? `${PREFIX} ${JSON.stringify(settings)}` : PREFIX;
}

export function readWorkerConfig(name: string): WorkerConfig {
  const json = name.startsWith(`${PREFIX} `) ? name.slice(PREFIX.length + 1) : '';
  if (!json) return {};
  try {
    const parsed = JSON.parse(json) as WorkerConfig;
    const warm = Array.isArray(parsed.warm) ? parsed.warm.filter((entry): entry is string => typeof entry === 'string') : [];
    return { ...(typeof parsed.assetsBaseUrl === 'string' ? { assetsBaseUrl: parsed.assetsBaseUrl } : {}), ...(warm.length ? { warm } : {}) };
  } catch {
    return {};
  }
}
