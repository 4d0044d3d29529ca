import type { SliceRequest } from './compare.js';
import type { SqlStatement } from './stats-sql.js';

/**
 * The second read of GET /v1/compare: the values of the bins its percentiles fall in, as byte
 * slices of the stored runs, one statement for all of them. Each answer row is (k, bytes), k the
 * request's index (SQLite: 0-based json_each key; PostgreSQL: 1-based ordinality).
 */

export function sqliteSlicesSql(slices: readonly SliceRequest[]): SqlStatement {
  const wanted = slices.map((slice) => [slice.row.minute, slice.row.type, slice.row.group_key, slice.row.segment, slice.column, slice.offset * 8 + 1, slice.count * 8]);
  return {
    text: `SELECT w.key AS k, substr(CASE w.value ->> 4 WHEN 0 THEN r.durations ELSE r.scores END, w.value ->> 5, w.value ->> 6) AS bytes
      FROM json_each(?1) AS w JOIN rollup_minutes AS r
        ON r.minute = w.value ->> 0 AND r.type = w.value ->> 1 AND r.group_key = w.value ->> 2 AND r.segment = w.value ->> 3`,
    params: [JSON.stringify(wanted)],
  };
}

/** PostgreSQL: rows from unnest() of one array per field; the parameter count stays fixed. */
export function postgresSlicesSql(slices: readonly SliceRequest[]): { readonly text: string; readonly values: readonly unknown[] } {
  return {
    text: `SELECT w.k - 1 AS k, substring(CASE w.col WHEN 0 THEN r.durations ELSE r.scores END FROM w.off FOR w.len) AS bytes
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::int[]) WITH ORDINALITY AS w(minute, type, group_key, segment, col, off, len, k)
      JOIN rollup_minutes AS r ON r.minute = w.minute AND r.type = w.type AND r.group_key = w.group_key AND r.segment = w.segment`,
    values: [
      slices.map((slice) => String(slice.row.minute)),
      slices.map((slice) => slice.row.type),
      slices.map((slice) => slice.row.group_key),
      slices.map((slice) => String(slice.row.segment)),
      slices.map((slice) => slice.column),
      slices.map((slice) => slice.offset * 8 + 1),
      slices.map((slice) => slice.count * 8),
    ],
  };
}

/** Answer rows -> the bytes of each request, in request order; a missing row is an error, never a silent gap. */
export function slicesInOrder(count: number, rows: readonly Record<string, unknown>[]): Uint8Array[] {
  const bytes = new Array<Uint8Array | undefined>(count);
  for (const row of rows) bytes[Number(row['k'])] = row['bytes'] as Uint8Array;
  for (let index = 0; index < count; index += 1) if (bytes[index] === undefined) throw new Error(`Rollup slice ${index} was not found.`);
  return bytes as Uint8Array[];
}
