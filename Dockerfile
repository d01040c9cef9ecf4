# The inference-exporter image. The demo model server and the compose
# stack's alert-gateway stand-in run from it too, with another entrypoint.
#
#   docker build -t inference-exporter:local .
#   docker run --rm -p 10464:10464 inference-exporter:local --help
#
# Node.js 26 is the Active LTS line (since October 2026); trixie is the
# current Debian stable. Both stages use the same image so that the
# dependencies built in the first run unchanged in the second.
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused until the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="inference-exporter" \
      org.opencontainers.image.description="Prometheus exporter for machine-learning model servers" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The shop data the demo model server replays.
COPY data ./data
# Owned by the unprivileged user, so that named volumes mounted here
# start out writable for it.
RUN mkdir -p /var/log/model-server /var/lib/inference-exporter \
 && chown node:node /var/log/model-server /var/lib/inference-exporter
USER node
EXPOSE 10464
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:10464/-/healthy').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
