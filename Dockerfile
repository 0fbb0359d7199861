# One image for both app pools and the alert watcher; Compose picks the command.
# Classic builder, no package manager: builds on the official Debian-based
# node images (slim or full); alpine lacks the bash the health probe needs
# (common/http-probe.sh uses bash's /dev/tcp).
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common common
COPY app app
COPY watcher watcher
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /src/dist dist
# The status page's static files, served by the watcher (dist/watcher/page/assets.js finds them here).
COPY watcher/page/static watcher/page/static
COPY package.json ./
COPY common/http-probe.sh /usr/local/bin/http-probe
# A named volume mounted here for the first time takes this owner, so the
# non-root watcher can write its control files.
RUN chmod 0755 /usr/local/bin/http-probe && mkdir -p /var/lib/watcher && chown node:node /var/lib/watcher
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
  CMD ["http-probe"]
CMD ["node", "dist/app/main.js"]
