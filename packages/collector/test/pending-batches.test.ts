import { describe, expect, it } from 'vitest';
import { PendingBatches } from '../src/pending-batches.js';

const rows = (count: number, tag: string) => Array.from({ length: count }, (_, index) => [tag, index]);

describe('remembered batches for the roll-up', () => {
  it('takes whole batches in seq order from the watermark, below the limit, about maxEvents rows', () => {
    const pending = new PendingBatches(1000);
    pending.add(7, rows(3, 'c'));
    pending.add(3, rows(2, 'a')); // committed after a later transaction id
    pending.add(5, rows(4, 'b'));
    expect(pending.take(0, 100, 1)).toEqual({ end: 4, rows: rows(2, 'a') });
    expect(pending.take(0, 100, 5)).toEqual({ end: 6, rows: [...rows(2, 'a'), ...rows(4, 'b')] });
    expect(pending.take(4, 100, 100)).toEqual({ end: 8, rows: [...rows(4, 'b'), ...rows(3, 'c')] });
    expect(pending.take(0, 5, 100)).toEqual({ end: 4, rows: rows(2, 'a') });
    expect(pending.take(0, 3, 100)).toBeNull();
    expect(pending.firstFrom(4)).toBe(5);
    pending.forgetBelow(6);
    expect(pending.take(0, 100, 100)).toEqual({ end: 8, rows: rows(3, 'c') });
  });

  it('forgets everything past its bound, leaving the work to the database', () => {
    const pending = new PendingBatches(5);
    pending.add(1, rows(3, 'a'));
    pending.add(2, rows(3, 'b'));
    expect(pending.take(0, 100, 100)).toBeNull();
    expect(pending.firstFrom(0)).toBeUndefined();
  });
});
