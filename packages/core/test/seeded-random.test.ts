import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/index.js';

describe('mulberry32', () => {
  it('gives the same sequence for a seed on every run (the values reference probes were computed from)', () => {
    const random = mulberry32(42);
    expect([random(), random(), random(), random()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
    const zero = mulberry32(0);
    expect([zero(), zero()]).toEqual([0.26642920868471265, 0.0003297457005828619]);
    // The seed is a 32-bit unsigned integer: -1 is 2^32 - 1.
    expect(mulberry32(-1)()).toBe(mulberry32(2 ** 32 - 1)());
  });

  it('stays in [0, 1) and spreads evenly', () => {
    const random = mulberry32(7);
    const tenths = new Array<number>(10).fill(0);
    for (let index = 0; index < 100_000; index += 1) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
      tenths[Math.floor(value * 10)]! += 1;
    }
    for (const count of tenths) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});
