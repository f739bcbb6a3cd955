// C0 controls, DEL and C1 controls: U+0000-U+001F, U+007F-U+009F.
const CONTROL_CHARACTER = /[\u0000-\u001F\u007F-\u009F]/u;

/** Length in Unicode code points (what the contract's "characters" count), not UTF-16 units. */
export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length += 1;
  return length;
}

/**
 * Why `text` is not acceptable as an identifier or URL of at most `maxChars` characters, or null
 * when it is: too long, holding a control character, blank (only white space), or holding a lone
 * UTF-16 surrogate (which would be stored as U+FFFD, merging different values).
 */
export function textProblem(text: string, maxChars: number): string | null {
  // A cheap bound first: every code point is at least one UTF-16 unit.
  if (text.length > maxChars && codePointLength(text) > maxChars) return `has more than ${maxChars} characters`;
  const control = CONTROL_CHARACTER.exec(text);
  if (control !== null) {
    const code = control[0].codePointAt(0) ?? 0;
    return `holds control character U+${code.toString(16).toUpperCase().padStart(4, '0')} at index ${control.index}`;
  }
  if (text.trim() === '') return 'is blank';
  if (!text.isWellFormed()) return 'holds a lone UTF-16 surrogate';
  return null;
}

/** Whether `text` holds a control character (U+0000-U+001F, U+007F-U+009F). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}
