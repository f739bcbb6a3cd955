/**
 * A small seeded pseudo-random source (sfc32), so a seed reproduces the same sequence on every
 * machine and Node version. Not for anything security-related.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with the given probability. */
  chance(probability: number): boolean;
  /** One item, uniformly; throws on an empty list. */
  pick<T>(items: readonly T[]): T;
  /** Standard normal deviate (Box-Muller). */
  normal(): number;
}

/**
 * Creates an independent generator from any number of integer seed parts
 * (e.g. `createRandom(seed, STREAM_USERS, userIndex)`); equal parts give equal sequences.
 * Parts are safe integers; both 32-bit halves of each part are mixed in.
 */
export function createRandom(...seedParts: readonly number[]): Random {
  let h = 0x9e3779b9;
  for (const part of seedParts) {
    h = mix32(h ^ (part >>> 0));
    h = mix32(h ^ (Math.floor(part / 0x1_0000_0000) >>> 0));
  }
  let a = mix32(h ^ 0x243f6a88);
  let b = mix32(a ^ 0x85a308d3);
  let c = mix32(b ^ 0x13198a2e);
  let d = 1;

  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // sfc32's first outputs still correlate with the seed.
  for (let i = 0; i < 15; i += 1) nextUint32();

  const next = (): number => nextUint32() / 0x1_0000_0000;
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (probability) => next() < probability,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(0, items.length - 1)];
      if (item === undefined) throw new RangeError('pick() needs a non-empty list');
      return item;
    },
    normal: () => {
      // 1 - next() is in (0, 1], so the logarithm is finite.
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}

/** Picks indices with probability proportional to fixed weights, in O(log n). */
export interface WeightedPicker {
  pick(random: Random): number;
}

/** Builds a picker over `weights` (non-negative, at least one positive). */
export function createWeightedPicker(weights: readonly number[]): WeightedPicker {
  const cumulative: number[] = [];
  let total = 0;
  for (const weight of weights) {
    total += weight;
    cumulative.push(total);
  }
  if (!(total > 0)) throw new RangeError('a weighted picker needs a positive total weight');
  return {
    pick: (random) => {
      const target = random.next() * total;
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((cumulative[middle] ?? total) > target) high = middle;
        else low = middle + 1;
      }
      return low;
    },
  };
}

/** Zipf-like weights 1 / rank^exponent for ranks 1..n. */
export function zipfWeights(n: number, exponent: number): number[] {
  return Array.from({ length: n }, (_, index) => 1 / Math.pow(index + 1, exponent));
}

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = random.int(0, i);
    const itemI = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = itemI;
  }
  return copy;
}

function mix32(value: number): number {
  // murmur3 finaliser: spreads every input bit over the whole word.
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
