import { BINGBOT_PREFIXES, GOOGLEBOT_PREFIXES } from './ip-networks.ts';

/** The kind of device a browser user agent belongs to (what ua-parser-js reports). */
export type DeviceClass = 'desktop' | 'mobile' | 'tablet';

export interface BrowserAgent {
  readonly userAgent: string;
  readonly device: DeviceClass;
  readonly weight: number;
}

/**
 * Real browser user agent strings (2024 releases). ua-parser-js 1.x gives each the browser, OS and
 * device type its comment names; isbot 5 calls none of them a bot (`user-agents.test.ts`).
 */
export const BROWSER_AGENTS: readonly BrowserAgent[] = Object.freeze([
  // Chrome, Windows
  {
    device: 'desktop',
    weight: 20,
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  },
  // Chrome, macOS
  {
    device: 'desktop',
    weight: 7,
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  },
  // Chrome, Linux
  {
    device: 'desktop',
    weight: 2,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  },
  // Firefox, Windows
  { device: 'desktop', weight: 4, userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0' },
  // Firefox, macOS
  { device: 'desktop', weight: 1, userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0' },
  // Firefox, Ubuntu
  { device: 'desktop', weight: 1, userAgent: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0' },
  // Safari, macOS
  {
    device: 'desktop',
    weight: 5,
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
  },
  // Edge, Windows
  {
    device: 'desktop',
    weight: 6,
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  },
  // Mobile Safari, iPhone
  {
    device: 'mobile',
    weight: 17,
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  },
  // Chrome, iPhone
  {
    device: 'mobile',
    weight: 4,
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
  },
  // Chrome, Android (Pixel)
  {
    device: 'mobile',
    weight: 9,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  },
  // Samsung Internet, Android (Galaxy S24)
  {
    device: 'mobile',
    weight: 5,
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  },
  // Chrome, Android (reduced user agent)
  {
    device: 'mobile',
    weight: 6,
    userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  },
  // Mobile Safari, iPad
  {
    device: 'tablet',
    weight: 5,
    userAgent:
      'Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
  },
  // Chrome, Android tablet (Galaxy Tab S9)
  {
    device: 'tablet',
    weight: 2,
    userAgent: 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  },
]);

export interface CrawlerAgent {
  readonly userAgent: string;
  readonly weight: number;
  /** The crawler's own /24 networks, or null when it runs from ordinary networks. */
  readonly prefixes: readonly string[] | null;
}

/** Crawlers and scripts isbot 5 recognises. */
export const CRAWLER_AGENTS: readonly CrawlerAgent[] = Object.freeze([
  { weight: 5, prefixes: GOOGLEBOT_PREFIXES, userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
  {
    weight: 3,
    prefixes: GOOGLEBOT_PREFIXES,
    userAgent:
      'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  },
  { weight: 3, prefixes: BINGBOT_PREFIXES, userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' },
  { weight: 2, prefixes: null, userAgent: 'curl/8.5.0' },
  { weight: 1, prefixes: null, userAgent: 'python-requests/2.31.0' },
]);
