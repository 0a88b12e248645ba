# hooklog's container image: `docker build -t hooklog .`, then
# `docker run -p 8080:8080 -v hooklog-data:/data hooklog`. See README, "Deploy".

# Compiles the TypeScript, with the dev dependencies.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The production dependencies alone. Scripts are skipped because the package's
# own `prepare` builds from source, which needs the dev dependencies; only
# better-sqlite3's native module is built (or its prebuilt binary fetched).
FROM node:20-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
RUN npm rebuild better-sqlite3

FROM node:20-slim
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=1024 \
    HOOKLOG_DATA_DIR=/data \
    HOOKLOG_PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE NOTICE ./
COPY migrations ./migrations
# hooklog refuses a data directory others can read; the image's node user owns it.
RUN mkdir -m 700 /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
# On health_port when it is set: a worker (serve --role worker) listens on nothing else.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${Number(process.env.HOOKLOG_HEALTH_PORT) || process.env.HOOKLOG_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
