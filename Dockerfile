# The controller image: Node.js 24 (LTS), production dependencies only, non-root, read-only-root friendly.
# Node's major here must match package.json "engines" (checked by a test).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are skipped: they only fetch the `node` dev binary, which the image already is.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
# nest build, then the production bundle (dist/bundle, README "Memory").
RUN npm run build

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY crds ./crds
COPY package.json ./
# The command line (README "Command line") on PATH as `kes`, and as `kubectl-kes` for `kubectl kes …`.
RUN chmod +x dist/cli/main.js \
  && ln -s /app/dist/cli/main.js /usr/local/bin/kes \
  && ln -s /app/dist/cli/main.js /usr/local/bin/kubectl-kes
USER node
EXPOSE 3001
# Memory over speed (see the README's Performance section): V8's optimize-for-size mode (smaller code, tighter
# heap growth, and a young generation of 1 MiB semi-spaces, which it sets whatever --max-semi-space-size says;
# on a large node V8 would otherwise size them by the host's memory, up to 64 MiB). At 10,000 ExternalSecrets
# this took resident memory from 586 to 233 MiB for about 2.5 CPU seconds more per 10 s refresh cycle. In that
# mode every full collection is a memory-reducing one, after which V8 lets the old generation grow by only 10 %
# before the next: at 1,000 objects two full collections per 10 s cycle. --heap-growing-percent=30 sets the
# growth V8's conservative mode uses: 2 MiB more, a full collection every few cycles (README "What an idle
# cycle allocates"). glibc's malloc hands blocks of 32 KiB and more to mmap, so that the memory V8 borrows
# while compiling at start-up goes back to the system, and keeps one arena for all threads (README "Memory").
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768:glibc.malloc.arena_max=1
ENTRYPOINT ["node", "--optimize-for-size", "--heap-growing-percent=30", "dist/bundle/main.mjs"]
