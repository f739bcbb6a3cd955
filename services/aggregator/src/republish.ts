/** Step 1, the index: every stored window indexed again into a metrics index found new or replaced. */
import type { MetricsIndexIdentity } from '@clickstream/elasticsearch';
import { groupKey } from '@clickstream/metrics';
import { mapConcurrently } from './map-concurrently.ts';
import { index, passedMultiple, publishWindow, storedWindowPages, withRetry, write } from './run-context.ts';
import type { RunContext } from './run-context.ts';
import { allTimeWrite } from './window-documents.ts';
import type { WindowGranularity } from '@clickstream/metrics';

/**
 * Step 1, the index: documents are written only when their numbers change, so an index that lost
 * them (deleted and installed again, restored from an older snapshot, a new cluster) would stay
 * without them for good. The index's UUID is recorded with the state; a run that finds another
 * one first indexes every stored window into it again, then records it (a run that dies on the
 * way does it all again). When none is recorded yet (a keyspace from before the record), an index
 * holding documents is taken as complete, and an empty one is filled.
 */
export async function republishIfIndexReplaced(run: RunContext): Promise<void> {
  const { deps } = run;
  const { alias } = deps.metricsIndex;
  run.signal.throwIfAborted();
  const [identity, recorded] = await Promise.all([
    withRetry(run, 'identifying the metrics index', () => deps.metricsIndex.identify(), 'elasticsearch'),
    withRetry(run, 'reading the published index', () => deps.state.readPublishedIndex(alias)),
  ]);
  if (recorded === identity.uuid) return;
  if (recorded !== undefined || identity.documents === 0) await republishAll(run, identity);
  await write(run, 'recording the published index', (fence) => deps.state.recordPublishedIndex(alias, identity.uuid, fence));
}

/** Windows indexed again between two progress lines while an index is filled from the state (a year holds ~8,800 hours). */
const REPUBLISH_PROGRESS_WINDOWS = 500;
/** All-time groups indexed again between two progress lines (one request each: a million take minutes). */
const REPUBLISH_PROGRESS_GROUPS = 100_000;

/** Every stored window indexed again: hours (within the hour documents' retention), days, then all-time groups a page at a time. */
async function republishAll(run: RunContext, identity: MetricsIndexIdentity): Promise<void> {
  const { deps } = run;
  const indexedBefore = run.counts.indexed;
  const retentionMs = deps.expireHourDocuments?.retentionMs ?? 0;
  const hours = await withRetry(run, 'listing the stored hours', () => deps.state.listStoredHours());
  const keptHours = retentionMs > 0 ? hours.filter((hourMs) => hourMs >= run.nowMs - retentionMs) : hours;
  const days = await withRetry(run, 'listing the stored days', () => deps.state.listStoredDays());
  const progress = (what: string): void =>
    deps.logger.info({ index: identity.uuid, indexed: run.counts.indexed - indexedBefore }, `metrics index filled again: ${what}`);
  deps.logger.warn(
    { index: identity.uuid, documents: identity.documents, hours: keptHours.length, days: days.length },
    'the metrics index is not the one the state was published into: indexing every stored window again',
  );
  const republishWindows = async (granularity: WindowGranularity, startsMs: readonly number[]): Promise<void> => {
    let done = 0;
    await mapConcurrently(startsMs, deps.hourConcurrency, async (windowStartMs) => {
      const window = { granularity, windowStartMs };
      for await (const { groups, last } of storedWindowPages(run, window))
        await publishWindow(run, window, groups, [], { reindexAll: true, recordFinal: last });
      done += 1;
      if (done % REPUBLISH_PROGRESS_WINDOWS === 0) progress(`${done} of ${startsMs.length} ${granularity} windows`);
    });
    progress(`${startsMs.length} ${granularity} windows`);
  };
  await republishWindows('hour', keptHours);
  await republishWindows('day', days);
  let groups = 0;
  for await (const page of deps.state.allTimeGroupPages(deps.bulkSize)) {
    const users = await withRetry(run, 'counting all-time users', () => deps.state.countAllTimeUsersOf(page.map(({ group }) => group)));
    // The scan brings the stored sums; only unknown ones (a keyspace from before them) are read, and summed, per group.
    const writes = await mapConcurrently(page, deps.groupConcurrency, async ({ group, allTime: stored }) => {
      const allTime =
        stored ??
        (await withRetry(run, `reading the all-time totals of ${group.urlKey}`, () => deps.state.readGroupTotals(group, []))).allTime;
      return allTimeWrite({ group, allTime, uniqueUsers: users.get(groupKey(group)) ?? 0, updatedAtMs: run.nowMs });
    });
    await index(run, writes);
    const before = groups;
    groups += page.length;
    if (passedMultiple(before, groups, REPUBLISH_PROGRESS_GROUPS)) progress(`${groups} all-time groups so far`);
  }
  progress(`${groups} all-time groups`);
  run.counts.republished += run.counts.indexed - indexedBefore;
}
