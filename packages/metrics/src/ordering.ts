/**
 * Compares two strings by Unicode code point, which is also UTF-8 byte order.
 *
 * JavaScript's `<` compares UTF-16 code units, which disagrees with code point order when a
 * character above U+FFFF meets one in U+E000..U+FFFF; `localeCompare` depends on the locale.
 * Code point order is what an independent computation in most other languages or stores uses.
 *
 * @returns a negative number, zero or a positive number, as `Array.prototype.sort` expects.
 */
export function compareCodePoints(a: string, b: string): number {
  const sharedLength = Math.min(a.length, b.length);
  for (let index = 0; index < sharedLength; index += 1) {
    const unitA = a.charCodeAt(index);
    const unitB = b.charCodeAt(index);
    if (unitA !== unitB) {
      return codePointRank(unitA) - codePointRank(unitB);
    }
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000..U+FFFF: a surrogate starts a code point above U+FFFF. */
function codePointRank(codeUnit: number): number {
  if (codeUnit >= 0xe000) {
    return codeUnit - 0x800;
  }
  if (codeUnit >= 0xd800) {
    return codeUnit + 0x2000;
  }
  return codeUnit;
}
