# embedkit in a container: builds the package and runs `embedkit serve` (the OpenAI-compatible
# embeddings server) on port 8080. Models are pulled from their registries on first use into
# EMBEDKIT_HOME (/data/models); mount a volume there so they are downloaded once.
#
#   docker build -t embedkit .
#   docker run --rm -p 8080:8080 -v embedkit-data:/data -e EMBEDKIT_API_KEYS=change-me embedkit
#   curl -s localhost:8080/v1/embeddings -H 'authorization: Bearer change-me' \
#     -H 'content-type: application/json' -d '{"model":"all-minilm-l6-v2","input":"hello"}'
#
# Any other command: docker run --rm -v embedkit-data:/data embedkit similarity "a cat" "a kitten"

FROM node:20-bookworm-slim AS build
WORKDIR /app
# hnswlib-node and (without a prebuilt binary) better-sqlite3 compile at install.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc* tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/native-hnswlib.mjs ./scripts/
# `npm ci` runs the package's `prepare` script, which builds dist/ with tsc. embedkit runs on
# the CPU: onnxruntime-node's CUDA download is skipped.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# An image runs on other machines than the one that builds it: keep hnswlib-node's portable build
# (`--build-arg EMBEDKIT_NATIVE_HNSWLIB=1` compiles it for the build machine's CPU instead).
ARG EMBEDKIT_NATIVE_HNSWLIB=0
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
# ffmpeg decodes audio and video (`--modality audio|video`); drop it for a text-only image.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
ENV NODE_ENV=production \
  EMBEDKIT_HOME=/data/models \
  EMBEDKIT_STORE=/data/collections \
  EMBEDKIT_HOST=0.0.0.0 \
  EMBEDKIT_PORT=8080
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD node -e "fetch('http://127.0.0.1:8080/health').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/bin/embedkit.js"]
CMD ["serve"]
