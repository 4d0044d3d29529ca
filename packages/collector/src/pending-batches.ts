import type { RawRow } from './stats-sql.js';
import type { EventRow } from './storage.js';

/** Events kept in memory for the next roll-up steps at most (about 10 MB). */
export const MAX_PENDING_EVENTS = 50_000;

/** The columns of a stored event a roll-up step folds (RAW_COLUMNS order). */
export function foldRow(row: EventRow): RawRow {
  return [row.type, row.app, row.model_id, row.model_version, row.model_variant, row.backend, row.ts, row.duration_ms, row.score];
}

/**
 * Batches this process stored and has not folded yet, by ingest_seq, so a roll-up step can fold
 * them without reading them back (that read was a tenth of the collector's time at peak ingest).
 * Memory is only a shortcut: a step uses it only when the database holds exactly these rows in the
 * step's seq range (another process's batch or a retention delete changes the count), else it reads.
 */
export class PendingBatches {
  private batches: { seq: number; rows: RawRow[] }[] = [];
  private events = 0;

  /** Past this many events (roll-up off or far behind) everything is forgotten: the database has it. */
  constructor(private readonly maxEvents: number) {}

  add(seq: number, rows: RawRow[]): void {
    if (rows.length === 0) return;
    const batch = { seq, rows };
    // Concurrent PostgreSQL inserts can commit out of transaction-id order.
    const at = this.batches.findLastIndex((other) => other.seq < seq) + 1;
    this.batches.splice(at, 0, batch);
    this.events += rows.length;
    if (this.events > this.maxEvents) this.forgetBelow(Infinity);
  }

  /** The first remembered seq at or after `watermark`, if any. */
  firstFrom(watermark: number): number | undefined {
    return this.batches.find((batch) => batch.seq >= watermark)?.seq;
  }

  /** A step from `watermark`: whole batches below `limit`, about maxEvents rows (at least one batch). */
  take(watermark: number, limit: number, maxEvents: number): { end: number; rows: RawRow[] } | null {
    const rows: RawRow[] = [];
    let end: number | null = null;
    for (const batch of this.batches) {
      if (batch.seq < watermark) continue;
      if (batch.seq >= limit || (end !== null && rows.length >= maxEvents)) break;
      rows.push(...batch.rows);
      end = batch.seq + 1;
    }
    return end === null ? null : { end, rows };
  }

  /** Forgets batches a committed step folded (everything below its end). */
  forgetBelow(end: number): void {
    this.batches = this.batches.filter((batch) => batch.seq >= end);
    this.events = this.batches.reduce((total, batch) => total + batch.rows.length, 0);
  }
}
