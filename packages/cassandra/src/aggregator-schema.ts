/**
 * The aggregator's own tables, in creation order (`%KS%` stands for the keyspace). They hold the
 * state from which every hour, day and all-time document can be rebuilt without reading events
 * again: hour and day state are replaced as a whole when recomputed, so nothing is counted twice.
 * Nothing here is deleted in bulk: the work queue is counters (no tombstones), and the state
 * tables only lose the rows of groups or users that left a recomputed window.
 */
/** The static sums of `day_totals` (added to a table created before them, see `ensureSchema`). */
export const DAY_TOTALS_SUMS: readonly (readonly [string, string])[] = [
  ['all_days', 'bigint'],
  ['all_clicks', 'bigint'],
  ['all_time_spent_sum_ms', 'bigint'],
  ['all_time_spent_samples', 'bigint'],
];

/**
 * The `group_users` row written with every stored count (`user_id` '', which no user id is: ids are
 * never blank), without the per-user TTL. Reading the count reads the partition's first row: with
 * this row first, that read never walks user rows, which expire by the per-user TTL and would be
 * read (and counted against tombstone_failure_threshold) one by one when every user of a group
 * had expired.
 */
export const GROUP_USERS_COUNT_ROW = '';

export const AGGREGATOR_TABLES: readonly string[] = [
  // The work queue. Ingest increments a counter per (day, hour) its batch touched, then per day
  // (the doorbell); the aggregator records the values it processed in the *_done tables. An hour
  // is pending while its counter is ahead. No marker is ever deleted: no tombstone, at any rate.
  `CREATE TABLE IF NOT EXISTS %KS%.hour_changes (
    day timestamp, hour timestamp, changes counter,
    PRIMARY KEY (day, hour)
  )`,
  `CREATE TABLE IF NOT EXISTS %KS%.day_changes (
    shard int, day timestamp, changes counter,
    PRIMARY KEY (shard, day)
  )`,
  `CREATE TABLE IF NOT EXISTS %KS%.hour_changes_done (
    day timestamp, hour timestamp, changes bigint,
    PRIMARY KEY (day, hour)
  )`,
  `CREATE TABLE IF NOT EXISTS %KS%.day_changes_done (
    shard int, day timestamp, changes bigint,
    PRIMARY KEY (shard, day)
  )`,
  // Totals of every (url, country) of an hour; one partition per hour.
  `CREATE TABLE IF NOT EXISTS %KS%.hour_groups (
    hour timestamp, url_key text, country text,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint, unique_users bigint,
    PRIMARY KEY (hour, url_key, country)
  )`,
  // Distinct users of every (url, country) of an hour: the day's exact unique users are their union.
  // A group's users are a few JSON arrays of at most ~16 KB each (`chunk` 0, 1, ...), not one row
  // per user: a recomputed group rewrites its chunks whole, a fraction of the rows and requests.
  // Chunk 0 carries how many chunks there are: chunks past it (left by a group that shrank, or
  // written by a fenced-off replica with an older timestamp) are ignored.
  `CREATE TABLE IF NOT EXISTS %KS%.hour_user_sets (
    hour timestamp, url_key text, country text, chunk int, users text, chunks int,
    PRIMARY KEY (hour, url_key, country, chunk)
  )`,
  // Totals of every (url, country) of a day, rolled up from its hours; one partition per day.
  `CREATE TABLE IF NOT EXISTS %KS%.day_groups (
    day timestamp, url_key text, country text,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint, unique_users bigint,
    PRIMARY KEY (day, url_key, country)
  )`,
  // The same day totals, partitioned by (url, country), and (static) their sums and number of
  // days: the all-time document. A run changes some day rows and the sums in one single-partition
  // batch, from the stored rows of those days only, so its cost does not grow with the history.
  `CREATE TABLE IF NOT EXISTS %KS%.day_totals (
    url_key text, country text, day timestamp,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint,
    ${DAY_TOTALS_SUMS.map(([name, type]) => `${name} ${type} static`).join(', ')},
    PRIMARY KEY ((url_key, country), day)
  )`,
  // Every user ever counted for a (url, country), and (static) how many there are: the exact
  // all-time unique users is one stored number, kept equal to the number of users by writing new
  // users and the new number in one single-partition batch. The number is written with a row of
  // its own (GROUP_USERS_COUNT_ROW, first in the partition, no TTL), so reading it stops there.
  `CREATE TABLE IF NOT EXISTS %KS%.group_users (
    url_key text, country text, user_id text, users bigint static,
    PRIMARY KEY ((url_key, country), user_id)
  )`,
  // The day roll-up's write-ahead marks. Before a run stores hour state that changes a group of a
  // day, it marks that group here (`marked_at`: the run's fence timestamp); once the day's state
  // is stored, `rolled_up_at` (static) moves past the marks. A group marked after it was changed
  // by a run that died before storing its day: the next run rolls that group up again. So a run
  // rolls up only the groups whose hours changed, not every group of each recomputed hour. Rows
  // are overwritten in place (at most one per group of the day), never deleted.
  `CREATE TABLE IF NOT EXISTS %KS%.day_rollup_marks (
    day timestamp, url_key text, country text, marked_at bigint, rolled_up_at bigint static,
    PRIMARY KEY (day, url_key, country)
  )`,
  // Hour and day windows indexed as not final yet, so a later run re-indexes them as final.
  `CREATE TABLE IF NOT EXISTS %KS%.open_windows (
    shard int, granularity text, window_start timestamp,
    PRIMARY KEY (shard, granularity, window_start)
  )`,
  // The Elasticsearch index (its UUID) every stored window was published into, by alias. A run that
  // finds the alias on another index (deleted and installed again, restored, a new cluster) indexes
  // every stored window into it before anything else: only changed documents are written otherwise.
  `CREATE TABLE IF NOT EXISTS %KS%.published_index (
    alias text PRIMARY KEY, index_uuid text
  )`,
  // Leases (one aggregator run at a time), taken and renewed with lightweight transactions: the
  // holder cell has a TTL, the fencing token none (it only grows, one per grant).
  `CREATE TABLE IF NOT EXISTS %KS%.lease_grants (
    name text PRIMARY KEY, holder text, fencing_token bigint
  )`,
];
