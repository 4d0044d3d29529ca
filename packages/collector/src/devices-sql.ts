import type { SqlStatement } from './stats-sql.js';
import type { DeviceStatus } from './storage.js';

/** The latest heartbeat of each device (its deviceId, or the page session when it has none). */
export function devicesSql(placeholder: (index: number) => string, since: number, app?: string): SqlStatement {
  const params: (string | number)[] = [since];
  const appFilter = app === undefined ? '' : ` AND app = ${placeholder(params.push(app))}`;
  return {
    text: `SELECT app, device, ts, payload FROM (
      SELECT app, COALESCE(device_id, session_id) AS device, ts, payload,
        ROW_NUMBER() OVER (PARTITION BY app, COALESCE(device_id, session_id) ORDER BY ts DESC) AS rn
      FROM events WHERE type = 'heartbeat' AND ts >= ${placeholder(1)}${appFilter}
    ) latest WHERE rn = 1 ORDER BY app, device`,
    params,
  };
}

export function devicesFromRows(rows: readonly Record<string, unknown>[]): DeviceStatus[] {
  return rows.map((row) => {
    const heartbeat = JSON.parse(String(row['payload'])) as Record<string, unknown>;
    return {
      app: String(row['app']),
      deviceId: String(row['device']),
      lastSeen: Number(row['ts']),
      fps: Number(heartbeat['fps']),
      p50Ms: Number(heartbeat['p50Ms']),
      memoryBytes: Number(heartbeat['memoryBytes']),
      errors: Number(heartbeat['errors']),
      uptimeS: Number(heartbeat['uptimeS']),
      libraryVersion: String(heartbeat['libraryVersion']),
      ...(typeof heartbeat['intervalS'] === 'number' ? { intervalS: heartbeat['intervalS'] } : {}),
    };
  });
}
