import type { Page, PageCatalog } from './page-catalog.ts';
import { renderPageUrl } from './page-catalog.ts';
import type { Random } from './random.ts';
import type { UserProfile } from './user-profiles.ts';
import { visitIp } from './user-profiles.ts';

/** One page view of a planned visit, before it gets an id and a timestamp spelling. */
export interface PlannedClick {
  readonly timeMs: number;
  readonly page: Page;
  readonly url: string;
  readonly referrer: string | null;
  readonly sessionId: string | null;
  readonly ip: string | null;
  readonly timeSpentMs: number | null;
}

export interface VisitLimits {
  /** Page views at or after this instant are dropped (end of the event-time range). */
  readonly endMs: number;
  /** At most this many page views (the remaining event budget). */
  readonly maxClicks: number;
  /** Probability that a page view carries `time_spent_ms`. */
  readonly timeSpentProbability: number;
}

/** Expected page views of a human visit before truncation: 0.35 * 1 + 0.65 * (2 + E[floor(Exp(mean 6))] = 5.52). */
export const HUMAN_MEAN_CLICKS = 5.24;
/** Expected page views of a crawler visit before truncation. */
export const CRAWLER_MEAN_CLICKS = 65;

const MINUTE_MS = 60_000;
const SESSION_GAP_MS = 30 * MINUTE_MS;

const EXTERNAL_REFERRERS = [
  'https://www.google.com/',
  'https://www.google.com/',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://t.co/',
  'https://news.ycombinator.com/',
  'https://www.facebook.com/',
];

/**
 * A human visit starting at `startMs`: one or more sessions of page views. Dwell gaps are mostly
 * seconds to a few minutes (log-normal); a few are breaks over 30 minutes that usually start a new
 * session id; a few sit exactly on the 30-minute limit or 1 ms past it.
 */
export function planHumanVisit(
  profile: UserProfile,
  startMs: number,
  catalog: PageCatalog,
  limits: VisitLimits,
  random: Random,
): PlannedClick[] {
  const wanted = random.chance(0.35) ? 1 : 2 + Math.min(48, Math.floor(-Math.log(1 - random.next()) * 6));
  const ip = visitIp(profile, random);
  const newSessionId = (): string | null => (profile.sendsSessionId ? uuidV4(random) : null);

  const times: number[] = [startMs];
  const sessionIds: (string | null)[] = [newSessionId()];
  const pages: Page[] = [catalog.pickAny(random)];
  while (times.length < Math.min(wanted, limits.maxClicks)) {
    const previousTime = times[times.length - 1] ?? startMs;
    const previousPage = pages[pages.length - 1] ?? catalog.pickAny(random);
    const gap = drawGapMs(random);
    const timeMs = previousTime + gap.ms;
    if (timeMs >= limits.endMs) break;
    times.push(timeMs);
    const split = gap.isBreak ? random.chance(0.85) : random.chance(0.01);
    sessionIds.push(split ? newSessionId() : (sessionIds[sessionIds.length - 1] ?? null));
    const u = random.next();
    pages.push(u < 0.05 ? previousPage : u < 0.9 ? catalog.pickOnSite(previousPage.site, random) : catalog.pickAny(random));
  }

  const clicks: PlannedClick[] = [];
  for (let i = 0; i < times.length; i += 1) {
    const timeMs = times[i] ?? startMs;
    const page = pages[i] ?? catalog.pickAny(random);
    const sessionId = sessionIds[i] ?? null;
    const nextTime = times[i + 1];
    const sameSessionNext = nextTime !== undefined && sessionIds[i + 1] === sessionId && nextTime - timeMs <= SESSION_GAP_MS;
    let timeSpentMs: number | null = null;
    if (random.chance(limits.timeSpentProbability)) {
      // The client measures visible time: a share of the gap, or a dwell before the tab closed.
      timeSpentMs = sameSessionNext
        ? Math.round((nextTime - timeMs) * (0.55 + 0.45 * random.next()))
        : clampedLogNormalMs(random, 20_000, 1.0, 500, SESSION_GAP_MS);
    }
    const previous = clicks[clicks.length - 1];
    const sessionStart = previous === undefined || previous.sessionId !== sessionId;
    clicks.push({
      timeMs,
      page,
      url: renderPageUrl(page, random),
      referrer: sessionStart ? externalReferrer(random) : page.origin === null || previous.page.origin === null ? null : previous.url,
      sessionId,
      ip,
      timeSpentMs,
    });
  }
  return clicks;
}

/** A crawler visit: tens of pages, a few seconds apart, uniformly over the catalog, no session or referrer. */
export function planCrawlerVisit(
  profile: UserProfile,
  startMs: number,
  catalog: PageCatalog,
  limits: VisitLimits,
  random: Random,
): PlannedClick[] {
  const wanted = random.int(10, 120);
  const ip = visitIp(profile, random);
  const clicks: PlannedClick[] = [];
  for (
    let timeMs = startMs;
    clicks.length < Math.min(wanted, limits.maxClicks) && timeMs < limits.endMs;
    timeMs += random.int(500, 15_000)
  ) {
    const page = random.pick(catalog.pages);
    clicks.push({ timeMs, page, url: (page.origin ?? '') + page.path, referrer: null, sessionId: null, ip, timeSpentMs: null });
  }
  return clicks;
}

function drawGapMs(random: Random): { ms: number; isBreak: boolean } {
  const u = random.next();
  // Boundary cases of the time-spent rule, rare but present in any large run.
  if (u < 0.003) return { ms: SESSION_GAP_MS, isBreak: false };
  if (u < 0.006) return { ms: SESSION_GAP_MS + 1, isBreak: false };
  if (u < 0.045) return { ms: random.int(31 * MINUTE_MS, 240 * MINUTE_MS), isBreak: true };
  // Double clicks and quick back-and-forth navigation.
  if (u < 0.075) return { ms: random.int(80, 1_500), isBreak: false };
  return { ms: clampedLogNormalMs(random, 35_000, 1.0, 1_000, 25 * MINUTE_MS), isBreak: false };
}

function clampedLogNormalMs(random: Random, medianMs: number, sigma: number, minMs: number, maxMs: number): number {
  const value = Math.round(medianMs * Math.exp(sigma * random.normal()));
  return Math.min(maxMs, Math.max(minMs, value));
}

function externalReferrer(random: Random): string | null {
  return random.chance(0.4) ? null : random.pick(EXTERNAL_REFERRERS);
}

function uuidV4(random: Random): string {
  const hex = Array.from({ length: 32 }, () => random.int(0, 15).toString(16));
  hex[12] = '4';
  hex[16] = (8 + random.int(0, 3)).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
