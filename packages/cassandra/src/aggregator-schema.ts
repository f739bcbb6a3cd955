/**
 * The aggregator's own tables, in creation order (`%KS%` stands for the keyspace). They hold the
 * state from which every hour, day and all-time document can be rebuilt without reading events
 * again: hour and day state are replaced as a whole when recomputed, so nothing is counted twice.
 */
export const AGGREGATOR_TABLES: readonly string[] = [
  // Totals of every (url, country) of an hour; one partition per hour.
  `CREATE TABLE IF NOT EXISTS %KS%.hour_groups (
    hour timestamp, url_key text, country text,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint, unique_users bigint,
    PRIMARY KEY (hour, url_key, country)
  )`,
  // Distinct users of every (url, country) of an hour: the day's exact unique users are their union.
  `CREATE TABLE IF NOT EXISTS %KS%.hour_users (
    hour timestamp, url_key text, country text, user_id text,
    PRIMARY KEY (hour, url_key, country, user_id)
  )`,
  // Totals of every (url, country) of a day, rolled up from its hours; one partition per day.
  `CREATE TABLE IF NOT EXISTS %KS%.day_groups (
    day timestamp, url_key text, country text,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint, unique_users bigint,
    PRIMARY KEY (day, url_key, country)
  )`,
  // The same day totals, partitioned by (url, country): the all-time sums read one partition.
  `CREATE TABLE IF NOT EXISTS %KS%.day_totals (
    url_key text, country text, day timestamp,
    clicks bigint, time_spent_sum_ms bigint, time_spent_samples bigint,
    PRIMARY KEY ((url_key, country), day)
  )`,
  // Every user ever counted for a (url, country): the exact all-time unique users is its row count.
  `CREATE TABLE IF NOT EXISTS %KS%.all_users (
    url_key text, country text, user_id text,
    PRIMARY KEY ((url_key, country), user_id)
  )`,
  // Hour and day windows indexed as not final yet, so a later run re-indexes them as final.
  `CREATE TABLE IF NOT EXISTS %KS%.open_windows (
    shard int, granularity text, window_start timestamp,
    PRIMARY KEY (shard, granularity, window_start)
  )`,
  // Leases (one aggregator run at a time), taken and renewed with lightweight transactions and a TTL.
  `CREATE TABLE IF NOT EXISTS %KS%.leases (
    name text PRIMARY KEY, holder text
  )`,
];
