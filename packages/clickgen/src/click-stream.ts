import type { GeneratedClick } from './generated-message.ts';
import type { ResolvedClickGeneratorOptions } from './generator-options.ts';
import { createMinHeap } from './min-heap.ts';
import type { PageCatalog } from './page-catalog.ts';
import { createRandom, createWeightedPicker, zipfWeights } from './random.ts';
import type { Random } from './random.ts';
import { CRAWLER_COUNT, crawlerProfile, humanProfile } from './user-profiles.ts';
import type { UserProfile } from './user-profiles.ts';
import type { PlannedClick } from './visit-planner.ts';
import { CRAWLER_MEAN_CLICKS, HUMAN_MEAN_CLICKS, planCrawlerVisit, planHumanVisit } from './visit-planner.ts';
import { formatTimestamp } from './wire-format.ts';

/** Valid clicks in the order a producer would send them. */
export interface ClickStream {
  /** The next click, or undefined once `validCount` clicks have been returned. */
  next(): GeneratedClick | undefined;
}

interface ActiveVisit {
  readonly seq: number;
  readonly profile: UserProfile;
  /** Key into the busy map, or null for crawlers. */
  readonly userIndex: number | null;
  readonly clicks: readonly PlannedClick[];
  cursor: number;
}

interface PendingDelivery {
  readonly deliverAtMs: number;
  readonly seq: number;
  readonly click: GeneratedClick;
}

const STREAM_SIMULATION = 1;
const DAY_MS = 86_400_000;
/** Traffic swings +-45% around the mean over a UTC day, peaking at 15:00. */
const DIURNAL_AMPLITUDE = 0.45;
const DIURNAL_PHASE_MS = 9 * 3_600_000;
/** Heavier users come back more often: user activity is Zipf-like with this exponent. */
const USER_ACTIVITY_EXPONENT = 0.6;

/**
 * Simulates visits over [startMs, startMs + spanMs) and returns exactly `validCount` clicks, a share
 * `botRatio` of them from crawlers. Visits start at a daily-varying rate spread so the whole range
 * is covered; clicks come out in delivery order (event time plus a network or buffering delay), so
 * users interleave and a few clicks arrive late. Memory is bounded by the visits in progress.
 */
export function createClickStream(options: ResolvedClickGeneratorOptions, validCount: number, catalog: PageCatalog): ClickStream {
  const { seed, startMs } = options;
  const endMs = startMs + options.spanMs;
  const random = createRandom(seed, STREAM_SIMULATION);
  const userPicker = createWeightedPicker(zipfWeights(options.users, USER_ACTIVITY_EXPONENT));
  const crawlers = Array.from({ length: CRAWLER_COUNT }, (_, index) => crawlerProfile(seed, index));
  const humanTimeSpentProbability = options.botRatio >= 1 ? 0 : Math.min(1, options.timeSpentRatio / (1 - options.botRatio));
  const intensity = createDiurnalIntensity(startMs, endMs);

  let botBudget = Math.round(validCount * options.botRatio);
  let humanBudget = validCount - botBudget;
  let position = 0;
  let nextStartMs: number | null = null;
  let visitSeq = 0;
  let clickSeq = 0;
  const busyUntil = new Map<number, number>();
  const visits = createMinHeap<ActiveVisit>((a, b) => clickAt(a).timeMs - clickAt(b).timeMs || a.seq - b.seq);
  const deliveries = createMinHeap<PendingDelivery>((a, b) => a.deliverAtMs - b.deliverAtMs || a.seq - b.seq);

  const scheduleNextStart = (): void => {
    if (humanBudget + botBudget === 0) {
      nextStartMs = null;
      return;
    }
    // The earliest of k uniform starts over the remaining range, k = visits still expected: keeps
    // starts spread over the whole range whatever the visit lengths turn out to be.
    const k = Math.max(1, Math.round(humanBudget / HUMAN_MEAN_CLICKS + botBudget / CRAWLER_MEAN_CLICKS));
    position += (intensity.total - position) * (1 - Math.pow(1 - random.next(), 1 / k));
    const previous = nextStartMs ?? startMs;
    nextStartMs = Math.min(endMs - 1, Math.max(previous, intensity.timeAt(position)));
  };

  const startVisit = (startAtMs: number): void => {
    const botWeight = botBudget / CRAWLER_MEAN_CLICKS;
    const isBot = random.next() * (botWeight + humanBudget / HUMAN_MEAN_CLICKS) < botWeight;
    let visit: ActiveVisit;
    if (isBot) {
      const profile = random.pick(crawlers);
      const clicks = planCrawlerVisit(profile, startAtMs, catalog, { endMs, maxClicks: botBudget, timeSpentProbability: 0 }, random);
      botBudget -= clicks.length;
      visit = { seq: visitSeq, profile, userIndex: null, clicks, cursor: 0 };
    } else {
      const userIndex = pickIdleUser(userPicker.pick(random), startAtMs, busyUntil, () => userPicker.pick(random));
      const profile = humanProfile(seed, userIndex);
      const limits = { endMs, maxClicks: humanBudget, timeSpentProbability: humanTimeSpentProbability };
      const clicks = planHumanVisit(profile, startAtMs, catalog, limits, random);
      humanBudget -= clicks.length;
      const lastMs = clicks[clicks.length - 1]?.timeMs ?? startAtMs;
      busyUntil.set(userIndex, Math.max(lastMs, busyUntil.get(userIndex) ?? lastMs));
      visit = { seq: visitSeq, profile, userIndex, clicks, cursor: 0 };
    }
    visitSeq += 1;
    visits.push(visit);
  };

  const emitNextClickOfVisit = (): void => {
    const visit = visits.pop();
    if (visit === undefined) return;
    const planned = clickAt(visit);
    const click = toGeneratedClick(planned, visit.profile, seed, clickSeq, startMs);
    deliveries.push({ deliverAtMs: click.eventTimeMs + deliveryDelayMs(random, visit.profile), seq: clickSeq, click });
    clickSeq += 1;
    visit.cursor += 1;
    if (visit.cursor < visit.clicks.length) visits.push(visit);
    else if (visit.userIndex !== null && busyUntil.get(visit.userIndex) === planned.timeMs) busyUntil.delete(visit.userIndex);
  };

  if (validCount > 0) scheduleNextStart();
  return {
    next() {
      for (;;) {
        const top = visits.peek();
        const nextClickMs = top === undefined ? Infinity : clickAt(top).timeMs;
        const horizonMs = Math.min(nextClickMs, nextStartMs ?? Infinity);
        // Nothing generated later can be delivered before the horizon.
        const ready = deliveries.peek();
        if (ready !== undefined && ready.deliverAtMs <= horizonMs) return deliveries.pop()?.click;
        if (horizonMs === Infinity) return undefined;
        if (nextStartMs !== null && nextStartMs <= nextClickMs) {
          startVisit(nextStartMs);
          scheduleNextStart();
        } else {
          emitNextClickOfVisit();
        }
      }
    },
  };
}

function clickAt(visit: ActiveVisit): PlannedClick {
  const click = visit.clicks[visit.cursor];
  if (click === undefined) throw new RangeError('visit has no click at its cursor');
  return click;
}

/** A few tries to find a user who is not mid-visit; two tabs of one user are rare but real. */
function pickIdleUser(first: number, atMs: number, busyUntil: ReadonlyMap<number, number>, another: () => number): number {
  let candidate = first;
  for (let attempt = 0; attempt < 8 && (busyUntil.get(candidate) ?? -Infinity) >= atMs; attempt += 1) candidate = another();
  return candidate;
}

function toGeneratedClick(planned: PlannedClick, profile: UserProfile, seed: number, seq: number, startMs: number): GeneratedClick {
  const { timestamp, eventTimeMs } = formatTimestamp(planned.timeMs, profile.timestampStyle, profile.utcOffsetMinutes, startMs);
  return {
    eventId: `evt-${seed}-${String(seq).padStart(9, '0')}`,
    userId: profile.userId,
    sessionId: planned.sessionId,
    timestamp,
    eventTimeMs,
    url: planned.url,
    referrer: planned.referrer,
    ip: planned.ip,
    country: profile.preEnrichedCountry,
    userAgent: profile.userAgent,
    timeSpentMs: planned.timeSpentMs,
    expected: { urlKey: planned.page.urlKey, country: profile.country, isBot: profile.isBot },
  };
}

/** Network and batching delay; mobile clients sometimes buffer clicks for minutes while offline. */
function deliveryDelayMs(random: Random, profile: UserProfile): number {
  const u = random.next();
  if (profile.mobile && u < 0.02) return random.int(60_000, 20 * 60_000);
  if (u < 0.05) return random.int(1_000, 30_000);
  return random.int(0, 250);
}

/**
 * Cumulative traffic intensity over [startMs, endMs): rate 1 + A sin(2 pi (t - phase) / day), so
 * uniform positions in [0, total) map to visit starts following the daily curve.
 */
function createDiurnalIntensity(startMs: number, endMs: number): { total: number; timeAt(position: number): number } {
  const omega = (2 * Math.PI) / DAY_MS;
  const cumulative = (t: number): number =>
    t - startMs - (DIURNAL_AMPLITUDE / omega) * (Math.cos(omega * (t - DIURNAL_PHASE_MS)) - Math.cos(omega * (startMs - DIURNAL_PHASE_MS)));
  return {
    total: cumulative(endMs),
    timeAt: (position) => {
      let low = startMs;
      let high = endMs;
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (cumulative(middle) <= position) low = middle;
        else high = middle;
      }
      return low;
    },
  };
}
