// The page hands the worker its settings in the Worker's `name`: readable synchronously when the
// worker module starts, before the engine is created, and it needs no extra message round trip.
const PREFIX = 'edgeinfer-engine';

export interface WorkerConfig {
  readonly assetsBaseUrl?: string | undefined;
}

export function workerName(config: WorkerConfig): string {
  return config.assetsBaseUrl ? `${PREFIX} ${JSON.stringify(config)}` : PREFIX;
}

export function readWorkerConfig(name: string): WorkerConfig {
  const json = name.startsWith(`${PREFIX} `) ? name.slice(PREFIX.length + 1) : '';
  if (!json) return {};
  try {
    const parsed = JSON.parse(json) as WorkerConfig;
    return typeof parsed.assetsBaseUrl === 'string' ? { assetsBaseUrl: parsed.assetsBaseUrl } : {};
  } catch {
    return {};
  }
}
