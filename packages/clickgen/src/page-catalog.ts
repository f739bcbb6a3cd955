import { createWeightedPicker, shuffled, zipfWeights } from './random.ts';
import type { Random, WeightedPicker } from './random.ts';

/** One page of the synthetic web sites. */
export interface Page {
  /** The page's url_key: what the contract's normalisation gives for any of its rendered urls. */
  readonly urlKey: string;
  /** `scheme://host` in lower case, or null for a path-only page. */
  readonly origin: string | null;
  /** Path without query or fragment, no trailing `/` unless it is `/`. */
  readonly path: string;
  /** Pages of one site share this index; path-only pages form their own site. */
  readonly site: number;
}

export interface PageCatalog {
  readonly pages: readonly Page[];
  /** A page by overall (Zipf-like) popularity. */
  pickAny(random: Random): Page;
  /** A page of the given site, by popularity within the site. */
  pickOnSite(site: number, random: Random): Page;
}

interface SiteSpec {
  readonly origin: string;
  readonly share: number;
  readonly makePath: (random: Random) => string;
}

const ADJECTIVES = [
  'red',
  'quiet',
  'rapid',
  'golden',
  'tiny',
  'modern',
  'classic',
  'wild',
  'smart',
  'bright',
  'urban',
  'cozy',
  'bold',
  'fresh',
  'silent',
  'vivid',
  'lucky',
  'simple',
  'grand',
  'rustic',
];
const NOUNS = [
  'lamp',
  'chair',
  'river',
  'garden',
  'rocket',
  'kettle',
  'jacket',
  'camera',
  'bicycle',
  'notebook',
  'coffee',
  'sneaker',
  'guitar',
  'backpack',
  'planet',
  'window',
  'forest',
  'teapot',
  'blanket',
  'compass',
  'harbor',
  'meadow',
  'pencil',
  'ladder',
  'violin',
  'lantern',
  'canyon',
  'market',
  'island',
  'bridge',
];
const VERBS = ['explained', 'reviewed', 'compared', 'revisited', 'unboxed', 'in-depth', 'for-beginners', 'tips', 'myths', 'guide'];
const SECTIONS = ['world', 'tech', 'science', 'business', 'sport', 'culture'];
const DOC_AREAS = ['guide', 'api', 'reference', 'tutorials'];
const SHOP_SPECIALS = ['/cart', '/search', '/checkout', '/account'];
/** Path-only urls, as a single-page app reports them. */
const APP_PATHS = ['/app/home', '/app/settings'];

const SITES: readonly SiteSpec[] = [
  {
    origin: 'https://www.shop.example',
    share: 0.45,
    makePath: (r) => (r.chance(0.8) ? `/products/${r.pick(ADJECTIVES)}-${r.pick(NOUNS)}` : `/category/${r.pick(NOUNS)}s`),
  },
  {
    origin: 'https://blog.example.com',
    share: 0.3,
    makePath: (r) =>
      `/${r.int(2019, 2024)}/${String(r.int(1, 12)).padStart(2, '0')}/${r.pick(ADJECTIVES)}-${r.pick(NOUNS)}-${r.pick(VERBS)}`,
  },
  {
    origin: 'https://docs.example.org',
    share: 0.15,
    makePath: (r) => `/${r.pick(DOC_AREAS)}/${r.pick(NOUNS)}-${r.pick(VERBS)}`,
  },
  {
    origin: 'http://news.example.net',
    share: 0.1,
    makePath: (r) => `/${r.pick(SECTIONS)}/${r.pick(ADJECTIVES)}-${r.pick(NOUNS)}-${r.int(1000, 9999)}`,
  },
];
const APP_SITE = SITES.length;
const ZIPF_EXPONENT = 1.0;

/**
 * Builds `pageCount` distinct pages (deterministic for the random source's seed): the home pages
 * and shop specials first, then generated articles, products and docs; two path-only app pages
 * when `pageCount >= 10`. Popularity is Zipf-like over a seeded ranking with the home pages on top.
 */
export function createPageCatalog(pageCount: number, random: Random): PageCatalog {
  const appCount = pageCount >= 10 ? APP_PATHS.length : 0;
  const hostCount = pageCount - appCount;
  const fixed: { site: number; path: string }[] = [
    ...SITES.map((_, site) => ({ site, path: '/' })),
    ...SHOP_SPECIALS.map((path) => ({ site: 0, path })),
  ];
  const sitePicker = createWeightedPicker(SITES.map((s) => s.share));
  const seen = new Set<string>();
  const homes: Page[] = [];
  const others: Page[] = [];
  for (let index = 0; index < hostCount; index += 1) {
    const planned = fixed[index];
    const site = planned?.site ?? sitePicker.pick(random);
    const spec = SITES[site];
    if (spec === undefined) throw new RangeError(`no site ${site}`);
    let path = planned?.path ?? spec.makePath(random);
    const base = path;
    for (let suffix = 2; seen.has(spec.origin + path); suffix += 1) path = `${base}-${suffix}`;
    seen.add(spec.origin + path);
    const page: Page = { urlKey: spec.origin + path, origin: spec.origin, path, site };
    if (path === '/') homes.push(page);
    else others.push(page);
  }
  for (const path of APP_PATHS.slice(0, appCount)) others.push({ urlKey: path, origin: null, path, site: APP_SITE });

  const pages = [...homes, ...shuffled(others, random)];
  const weights = zipfWeights(pages.length, ZIPF_EXPONENT);
  const overall = createWeightedPicker(weights);
  const bySite = new Map<number, { pages: Page[]; picker: WeightedPicker }>();
  for (let site = 0; site <= APP_SITE; site += 1) {
    const indices = pages.flatMap((page, index) => (page.site === site ? [index] : []));
    if (indices.length === 0) continue;
    bySite.set(site, {
      pages: indices.map((i) => pages[i] as Page),
      picker: createWeightedPicker(indices.map((i) => weights[i] ?? 0)),
    });
  }
  const at = (list: readonly Page[], index: number): Page => {
    const page = list[index];
    if (page === undefined) throw new RangeError(`no page ${index}`);
    return page;
  };
  return {
    pages,
    pickAny: (r) => at(pages, overall.pick(r)),
    pickOnSite: (site, r) => {
      const group = bySite.get(site);
      return group === undefined ? at(pages, overall.pick(r)) : at(group.pages, group.picker.pick(r));
    },
  };
}

const UTM_SOURCES = ['newsletter', 'twitter', 'facebook', 'partner'];
const FRAGMENTS = ['top', 'reviews', 'comments', 'details'];

/**
 * The url a client sends for a page. Mostly the plain url; sometimes a spelling that normalises to
 * the same url_key (query string, fragment, trailing slash, upper-case host, explicit default port)
 * so ingest's normalisation is exercised.
 */
export function renderPageUrl(page: Page, random: Random): string {
  const search = page.path === '/search' ? `?q=${random.pick(ADJECTIVES)}+${random.pick(NOUNS)}` : '';
  if (!random.chance(0.15)) return (page.origin ?? '') + page.path + search;
  const variant = random.int(0, 4);
  const origin = page.origin;
  if (variant === 0) {
    const query = search === '' ? '?' : `${search}&`;
    return `${origin ?? ''}${page.path}${query}utm_source=${random.pick(UTM_SOURCES)}&utm_medium=referral`;
  }
  if (variant === 1) return `${origin ?? ''}${page.path}${search}#${random.pick(FRAGMENTS)}`;
  if (variant === 2 || origin === null) {
    // The root's alternative spelling is the bare origin; other paths gain a trailing slash.
    if (page.path === '/') return `${origin ?? ''}${search}`;
    return `${origin ?? ''}${page.path}/${search}`;
  }
  const schemeEnd = origin.indexOf('://') + 3;
  if (variant === 3) return `${origin.slice(0, schemeEnd)}${origin.slice(schemeEnd).toUpperCase()}${page.path}${search}`;
  const defaultPort = origin.startsWith('https:') ? 443 : 80;
  return `${origin}:${defaultPort}${page.path}${search}`;
}
