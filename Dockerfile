# syntax=docker/dockerfile:1
#
# One image for every program: ingest, aggregator, dashboard, producer and migrate. Node 24 runs the TypeScript
# sources directly (type stripping), so there is no compile step: the build stage only installs
# the production dependencies. The command picks the service; the default is ingest:
#   docker build -t clickstream-analytics .
#   docker run clickstream-analytics                                   # ingest
#   docker run clickstream-analytics node --disable-warning=TimeoutNegativeWarning services/aggregator/src/main.ts
#   docker run clickstream-analytics node --disable-warning=TimeoutNegativeWarning services/producer/src/main.ts --count 1000

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build stage: production dependencies of the root and every workspace --------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci needs every workspace's package.json; the sources come along (they are small).
COPY packages/ packages/
COPY services/ services/
# `npm run migrate` (the Kubernetes Job, the compose one-shot) runs from the same image, and
# every npm script (`npm run aggregator -- --once` in a running container) through the launcher.
COPY scripts/migrate.ts scripts/node24.mjs scripts/
# No dependency needs an install script; refusing them keeps the build reproducible and safe.
# --omit=optional: the image's own Node runs the services; the per-platform Node packages that
# `npm ci` brings for developers (package.json optionalDependencies) would be a second one.
RUN npm ci --omit=dev --workspaces --include-workspace-root --ignore-scripts --omit=optional --no-audit --no-fund \
 && npm cache clean --force

# --- runtime stage -----------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node and reaps zombies (node as PID 1 ignores default signal
# dispositions, so the services' graceful shutdown would never be triggered).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# Only what runs: manifests, production node_modules (workspace links point into packages/ and
# services/), and the sources. Files stay root-owned, so the service user cannot modify its code.
COPY --from=deps /app/package.json /app/package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/packages ./packages
COPY --from=deps /app/services ./services
COPY --from=deps /app/scripts/migrate.ts /app/scripts/node24.mjs ./scripts/
USER node

# ingest serves /healthz, /readyz and /metrics on 8081, the aggregator on 8082, the dashboard
# its page and the same endpoints on 8083 (HTTP_PORT).
EXPOSE 8081 8082 8083
# Both services stop gracefully on SIGTERM within 25 s: give them that (docker stop -t 30,
# compose stop_grace_period, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# The slim image has no curl: probe with node's fetch. HTTP_PORT is set per service (compose,
# Kubernetes); 8081 is ingest's default. The producer has no HTTP port: disable it there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || '8081') + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["tini", "--"]
# Ingest's V8 heap bounds (services/ingest/src/node-flags.ts).
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=8", "--disable-warning=TimeoutNegativeWarning", "services/ingest/src/main.ts"]
