# The controller image: Node.js 24 (LTS), production dependencies only, non-root, read-only-root friendly.
# Node's major here must match package.json "engines" (checked by a test).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are skipped: they only fetch the `node` dev binary, which the image already is.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npx nest build

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3001
# A young generation of at most 2 × 16 MiB: on a large node V8 sizes it by the host's memory (up to 128 MiB),
# which a controller's short-lived garbage does not need (see the README's Performance section).
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/main.js"]
