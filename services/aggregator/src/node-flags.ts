/**
 * The V8 flags production runs the aggregator with: the `aggregator` script of package.json has
 * them, and so docker-compose.yml and deploy/deployment.yaml (test/deploy holds them to that
 * script); `npm run bench:aggregator` gives its aggregator child the same unless `--heap-mb` says otherwise.
 *
 * Without them V8 sizes the heap from the machine's memory and collects late: a 1M-click run
 * peaked at 725 MiB resident. The old-space cap alone still let the young generation grow to
 * 128 MiB (366-388 MiB for the same run, 481-487 MiB for a day whose busiest hour holds 2M
 * events, against the Deployment's 512 Mi); with 16 MiB semi-spaces the 1M run peaked at 296 MiB
 * and the 2M-event day at 388 MiB, for more garbage-collection time. Figures: report.md, "Aggregator benchmark".
 */
export const AGGREGATOR_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=16';
