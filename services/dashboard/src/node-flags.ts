/**
 * The V8 flags production runs the dashboard with: the `dashboard` script of package.json has them,
 * and so docker-compose.yml and deploy/dashboard.yaml (test/deploy holds them to that script).
 *
 * Without them V8 sizes the heap from the node's memory and lets it grow lazily past the pod's
 * 256 MiB limit: the dashboard idles at ~127 MiB resident, and after 1,000 clients asked for the
 * longest chart ranges it held 193 MiB of heap for 76 MiB in use. With them (and the API's query
 * gate) the same abuse peaked at 170 MiB resident (report.md, capacity probe).
 */
export const DASHBOARD_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8';
