import { describe, expect, it } from 'vitest';
import { medianFigures } from '../../bench/repeat.js';

describe('bench --repeat: medians of the runs', () => {
  it('takes the median of each numeric figure, odd and even counts', () => {
    expect(medianFigures([{ a: 3, b: 1 }, { a: 1, b: 4 }, { a: 2, b: 9 }])).toEqual({ a: 2, b: 4 });
    expect(medianFigures([{ a: 1 }, { a: 4 }, { a: 2 }, { a: 10 }])).toEqual({ a: 3 });
  });

  it('keeps the first run of a figure that is not a number in every run', () => {
    expect(medianFigures([{ loader: 'tsx', x: null }, { loader: 'cjs', x: 2 }])).toEqual({ loader: 'tsx', x: null });
  });
});
