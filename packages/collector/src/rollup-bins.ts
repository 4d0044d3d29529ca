import { binOf, type Binning } from './significance.js';

/**
 * A rollup segment's rank-test bin counts (LATENCY_BINS for durations, PROBABILITY_BINS for scores),
 * stored beside its sorted run (migration 6). GET /v1/compare adds these up instead of reading and
 * binning every value, and then reads only the values of the one bin a percentile falls in.
 *
 * Stored counts are only right for the binning they were made with: changing LATENCY_BINS or
 * PROBABILITY_BINS needs a migration that sets the bin columns to NULL (rows without bins are
 * binned from their runs at query time).
 *
 * Bytes: two uint32 (first bin, bytes per count: 1, 2 or 4), then one count per bin from the first
 * to the last bin the run touches (dense: a minute's run covers a few hundred adjacent bins, with a
 * few values each, so mostly one byte a bin: far fewer bytes than the run's 8 per value).
 */
export interface BinRun {
  readonly first: number;
  readonly counts: Uint8Array | Uint16Array | Uint32Array;
}

/** Bin counts of one sorted run: one binary search for the first bin, then a walk along the edges. */
export function binsOfRun(run: Float64Array, binning: Binning): BinRun {
  if (run.length === 0) return { first: 0, counts: new Uint32Array(0) };
  const edges = binning.edges;
  const first = binOf(run[0]!, binning);
  const counts = new Uint32Array(binOf(run[run.length - 1]!, binning) - first + 1);
  let bin = first;
  let next = bin < edges.length ? edges[bin]! : Infinity;
  for (let index = 0; index < run.length; index += 1) {
    const value = run[index]!;
    while (value >= next) {
      bin += 1;
      next = bin < edges.length ? edges[bin]! : Infinity;
    }
    counts[bin - first]! += 1;
  }
  return { first, counts };
}

export function encodeBins(bins: BinRun): Buffer {
  let max = 0;
  for (let index = 0; index < bins.counts.length; index += 1) max = Math.max(max, bins.counts[index]!);
  const width = max <= 0xff ? 1 : max <= 0xffff ? 2 : 4;
  // Typed arrays are little-endian here, as the stored duration runs already assume.
  const header = Uint32Array.of(bins.first, width);
  const counts = width === 1 ? Uint8Array.from(bins.counts) : width === 2 ? Uint16Array.from(bins.counts) : Uint32Array.from(bins.counts);
  return Buffer.concat([new Uint8Array(header.buffer), new Uint8Array(counts.buffer)]);
}

/** Reads stored bins back: a view when the driver's buffer is aligned (never written to), else a copy. */
export function decodeBins(bytes: Uint8Array): BinRun {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = bytes.byteLength >= 8 ? view.getUint32(4, true) : 0;
  if ((width !== 1 && width !== 2 && width !== 4) || (bytes.byteLength - 8) % width !== 0) throw new Error(`Rollup bins of ${bytes.byteLength} bytes are not valid.`);
  const first = view.getUint32(0, true);
  const length = (bytes.byteLength - 8) / width;
  if (width === 1) return { first, counts: new Uint8Array(bytes.buffer, bytes.byteOffset + 8, length) };
  const aligned = (bytes.byteOffset + 8) % width === 0;
  const source = aligned ? bytes : Uint8Array.from(bytes);
  const offset = aligned ? bytes.byteOffset + 8 : 8;
  return { first, counts: width === 2 ? new Uint16Array(source.buffer, offset, length) : new Uint32Array(source.buffer, offset, length) };
}

/** Adds bins into dense per-bin counts (what mannWhitneyU takes). */
export function addBins(into: Float64Array, bins: BinRun): number {
  let total = 0;
  const { first, counts } = bins;
  for (let index = 0; index < counts.length; index += 1) {
    into[first + index]! += counts[index]!;
    total += counts[index]!;
  }
  return total;
}

/** Where `bin`'s values sit in the run these bins describe: [offset, offset + count). */
export function binSlice(bins: BinRun, bin: number): { offset: number; count: number } {
  const { first, counts } = bins;
  if (bin < first || bin >= first + counts.length) return { offset: 0, count: 0 };
  let offset = 0;
  for (let index = 0; index < bin - first; index += 1) offset += counts[index]!;
  return { offset, count: counts[bin - first]! };
}
