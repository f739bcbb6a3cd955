"""PySpark reference job for `npm run bench:aggregator`.

Computes, from a CSV export of stored click events, the metrics of shared/spec/metrics.md for every
(hour | day | all, url_key, country): clicks, exact unique users, and time spent (sum and samples),
and writes them as CSV. Counted events: non-bot, each event_id once. Time spent of an event:
its time_spent_ms when present, else the gap to the same user's next counted event (ordered by
event_time, then event_id) when that gap is at most 30 minutes and the two are in the same session
(when both carry a session_id they must be equal); otherwise unknown.

Prints one JSON line: session start seconds (excluded from the comparison), compute seconds (read,
compute and write the results), and the number of rows written per granularity.

Usage: python3 scripts/bench/pyspark-metrics.py --input events.csv --output out-dir [--master local[2]]
Needs pyspark (pip install pyspark) and Java 17.
"""

import argparse
import glob
import json
import time

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, LongType, StringType, StructField, StructType

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SESSION_GAP_MS = 30 * 60_000

SCHEMA = StructType(
    [
        StructField("event_id", StringType(), False),
        StructField("user_id", StringType(), False),
        StructField("session_id", StringType(), True),
        StructField("event_time_ms", LongType(), False),
        StructField("url_key", StringType(), False),
        StructField("country", StringType(), False),
        StructField("time_spent_ms", LongType(), True),
        StructField("is_bot", BooleanType(), False),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("clickstream-metrics-reference")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_ready = time.perf_counter()

    events = (
        spark.read.option("header", True).option("escape", '"').schema(SCHEMA).csv(args.input)
        .filter(~F.col("is_bot"))
        .dropDuplicates(["event_id"])
    )
    by_user = Window.partitionBy("user_id").orderBy("event_time_ms", "event_id")
    next_time = F.lead("event_time_ms").over(by_user)
    next_session = F.lead("session_id").over(by_user)
    gap = next_time - F.col("event_time_ms")
    same_session = F.col("session_id").isNull() | next_session.isNull() | (F.col("session_id") == next_session)
    timed = events.withColumn(
        "time_spent",
        F.when(F.col("time_spent_ms").isNotNull(), F.col("time_spent_ms")).when(
            next_time.isNotNull() & (gap <= SESSION_GAP_MS) & same_session, gap
        ),
    ).select(
        "user_id",
        "url_key",
        "country",
        "time_spent",
        (F.floor(F.col("event_time_ms") / HOUR_MS) * HOUR_MS).cast("long").alias("hour_ms"),
        (F.floor(F.col("event_time_ms") / DAY_MS) * DAY_MS).cast("long").alias("day_ms"),
    ).cache()

    metrics = [
        F.count(F.lit(1)).alias("clicks"),
        F.countDistinct("user_id").alias("unique_users"),
        F.coalesce(F.sum("time_spent"), F.lit(0)).cast("long").alias("time_spent_sum_ms"),
        F.count("time_spent").alias("time_spent_samples"),
    ]
    hours = timed.groupBy(F.col("hour_ms").alias("window_start_ms"), "url_key", "country").agg(*metrics)
    days = timed.groupBy(F.col("day_ms").alias("window_start_ms"), "url_key", "country").agg(*metrics)
    alltime = timed.groupBy(F.lit(None).cast("long").alias("window_start_ms"), "url_key", "country").agg(*metrics)
    result = (
        hours.withColumn("granularity", F.lit("hour"))
        .unionByName(days.withColumn("granularity", F.lit("day")))
        .unionByName(alltime.withColumn("granularity", F.lit("all")))
    )
    result.write.mode("overwrite").option("header", True).option("escape", '"').csv(args.output)
    finished = time.perf_counter()
    spark.stop()

    rows = 0
    for part in glob.glob(f"{args.output}/part-*.csv"):
        with open(part, encoding="utf-8") as f:
            rows += max(0, sum(1 for _ in f) - 1)
    print(
        json.dumps(
            {
                "session_start_s": round(session_ready - started, 3),
                "compute_s": round(finished - session_ready, 3),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
