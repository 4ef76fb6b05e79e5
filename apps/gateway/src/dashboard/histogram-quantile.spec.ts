import { histogramQuantile } from './histogram-quantile.js';

describe('histogramQuantile', () => {
  const bounds = [0.01, 0.1, 1, Infinity];

  it('interpolates inside the bucket the rank falls in', () => {
    expect(histogramQuantile(0.5, bounds, [0, 10, 10, 10])).toBeCloseTo(0.055);
    expect(histogramQuantile(0.99, bounds, [50, 50, 100, 100])).toBeCloseTo(0.982);
    expect(histogramQuantile(0.5, bounds, [10, 10, 10, 10])).toBeCloseTo(0.005);
  });

  it('answers the highest finite bound for ranks in +Inf', () => {
    expect(histogramQuantile(0.99, bounds, [0, 0, 1, 100])).toBe(1);
  });

  it('is null for an empty histogram', () => {
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
    expect(histogramQuantile(0.5, [], [])).toBeNull();
  });
});
