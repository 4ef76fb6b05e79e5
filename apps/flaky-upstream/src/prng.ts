/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit seeded PRNG. Good enough to make the flaky
 * upstream's failure sequence reproducible; not for anything cryptographic.
 *
 * @param seed any number; only its low 32 bits (as unsigned) matter
 * @example
 * const next = mulberry32(42);
 * next(); // 0.6011037519201636, the same on every run
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The random source for a server: seeded (reproducible) when `seed` is given, `Math.random` otherwise.
 *
 * @param seed `FLAKY_SEED`, already parsed; `undefined` = unseeded
 */
export function createRandom(seed?: number): Random {
  return seed === undefined ? Math.random : mulberry32(seed);
}
