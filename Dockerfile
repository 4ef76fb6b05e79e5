# syntax=docker/dockerfile:1.7
#
# One image recipe for both apps:
#   docker build --build-arg APP=gateway        -t breakwater-gateway .
#   docker build --build-arg APP=flaky-upstream -t breakwater-flaky-upstream .
# The build stage does not depend on APP, so BuildKit builds it once for both images.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full dependencies, compile, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

# ---- runtime: production node_modules + the selected app only ----
FROM ${NODE_IMAGE} AS runtime
ARG APP=gateway
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="breakwater-${APP}" \
      org.opencontainers.image.description="Breakwater ${APP}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"

# tini as PID 1: forwards SIGTERM to node (the gateway drains on it) and reaps zombies.
# hadolint-style pin: bookworm's tini; bump together with the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production APP=${APP}
# package.json holds "type": "module", which the compiled ESM output needs at run time.
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/apps/${APP} ./dist/apps/${APP}
COPY --chown=root:root deploy/docker/healthcheck.mjs ./healthcheck.mjs
# A fixed entry point whatever APP is (node resolves the symlink, so relative paths still work).
RUN ln -s "apps/${APP}/main.js" dist/main.js

# Files stay root-owned and read-only for the process; it runs as the image's "node" user (numeric,
# so Kubernetes' runAsNonRoot can verify it).
USER 1000:1000
EXPOSE 8080 9090 8001

# No curl in slim images: the probe is node's own fetch (gateway: /health/live on MANAGEMENT_PORT
# or PORT; flaky-upstream: /health on PORT).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "/app/healthcheck.mjs"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
