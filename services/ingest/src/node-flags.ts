/**
 * The V8 flags production runs ingest with: the `ingest` script of package.json has them, and so
 * the Dockerfile's CMD, docker-compose.yml and deploy/deployment.yaml (test/deploy holds them to
 * that script); `npm run bench` gives its ingest child the same as `NODE_OPTIONS` unless
 * `BENCH_INGEST_NODE_OPTIONS` says otherwise.
 *
 * Without them V8 sizes the heap from the machine's memory and lets it grow lazily: ingest peaked
 * at 578-684 MiB resident in the bench, most of it heap slack above the ~187 MiB that the geo
 * database and Node keep anyway. A 128 MiB old space with 8 MiB semi-spaces held it at 340-368
 * MiB, for 0.050-0.055 ms of ingest CPU per event instead of 0.034-0.039 (garbage collection); a
 * 64 MiB old space thrashed (0.112 ms), and so did 96 MiB with V8's default semi-spaces (0.122). Figures: report.md,
 * "Ingest against the store's limit".
 */
export const INGEST_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8';
