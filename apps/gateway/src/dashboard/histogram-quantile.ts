/**
 * The q-quantile of a cumulative histogram, as Prometheus' `histogram_quantile` computes it:
 * linear interpolation inside the bucket the rank falls in; a rank in the `+Inf` bucket
 * answers the highest finite bound. Null when the histogram is empty.
 *
 * @param bounds upper bounds, ascending, the last one `Infinity`
 * @param cumulative cumulative counts, one per bound
 * @example histogramQuantile(0.5, [0.1, 1, Infinity], [0, 10, 10]) // 0.55
 */
export function histogramQuantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i] < rank) continue;
    if (bounds[i] === Infinity) return i > 0 ? bounds[i - 1] : null;
    const lower = i === 0 ? 0 : bounds[i - 1];
    const below = i === 0 ? 0 : cumulative[i - 1];
    const inBucket = cumulative[i] - below;
    return inBucket === 0 ? bounds[i] : lower + ((bounds[i] - lower) * (rank - below)) / inBucket;
  }
  return null;
}
