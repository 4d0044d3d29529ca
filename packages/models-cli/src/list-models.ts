import { readManifestFile } from './manifest-file.js';

export interface VersionListing {
  readonly model: string;
  readonly version: string;
  /** stable, canary N%, previous stable, revoked, or listed (added, not rolled out). */
  readonly status: string;
  readonly variants: { readonly name: string; readonly format: string; readonly dtype: string; readonly sizeBytes: number; readonly probe: boolean }[];
}

export function listModels(manifestPath: string, modelId?: string): VersionListing[] {
  const manifest = readManifestFile(manifestPath);
  const rows: VersionListing[] = [];
  for (const [id, model] of Object.entries(manifest.models)) {
    if (modelId && id !== modelId) continue;
    for (const [version, entry] of Object.entries(model.versions)) {
      const status = model.revoked?.includes(version)
        ? 'revoked'
        : model.channels.stable === version
          ? 'stable'
          : model.channels.canary?.version === version
            ? `canary ${model.channels.canary.percent}%`
            : model.stableHistory?.includes(version)
              ? 'previous stable'
              : 'listed';
      rows.push({
        model: id,
        version,
        status,
        variants: Object.entries(entry.variants).map(([name, variant]) => ({
          name,
          format: variant.format,
          dtype: variant.dtype,
          sizeBytes: variant.files.reduce((sum, file) => sum + file.size, 0),
          probe: Boolean(variant.probe),
        })),
      });
    }
  }
  return rows;
}

const kB = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`);

export function renderListing(rows: readonly VersionListing[]): string {
  if (rows.length === 0) return 'no models';
  return rows
    .map((row) => `${row.model} ${row.version}  ${row.status}\n${row.variants.map((variant) => `    ${variant.name}: ${variant.format} ${variant.dtype} ${kB(variant.sizeBytes)}${variant.probe ? ', probe' : ''}`).join('\n')}`)
    .join('\n');
}
