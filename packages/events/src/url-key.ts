/**
 * The aggregation key of a page, or null when `url` is neither an absolute http(s) URL nor a
 * path starting with `/`.
 *
 * Absolute URLs become `protocol//host` + pathname (WHATWG parsing: host lower-cased, default
 * port and credentials dropped); paths become their pathname with the same normalisation
 * (dot segments resolved, percent-encoding). Query and fragment are dropped, and one trailing
 * `/` is removed unless the path is `/`. Protocol-relative values (`//host/p`, `/\host/p`) are
 * rejected: browsers read them as a URL on another host, not as a path.
 */
export function toUrlKey(url: string): string | null {
  if (url.startsWith('/')) {
    if (/^\/[/\\]/.test(url)) return null;
    // A placeholder origin gives the path WHATWG's normalisation; the path's leading `/` ends the host.
    const parsed = URL.parse(`http://path.invalid${url}`);
    return parsed === null ? null : trimTrailingSlash(parsed.pathname);
  }
  const parsed = URL.parse(url);
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return null;
  return `${parsed.protocol}//${parsed.host}${trimTrailingSlash(parsed.pathname)}`;
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * `url` without credentials: an absolute URL with `user:pass@` (or `user@`) is re-serialised
 * without them (WHATWG serialisation, so its host is then lower-cased too); any other value is
 * returned unchanged. Paths cannot carry credentials.
 */
export function stripCredentials(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = URL.parse(url);
  if (parsed === null || (parsed.username === '' && parsed.password === '')) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}
