# syntax=docker/dockerfile:1
# Images of Sluice: one target per component, plus `example` for the example functions.
#
#   docker build --target activator -t sluice/activator:0.1.0 .     (autoscaler, scheduler, operator,
#                                                                     node-agent, queue-proxy alike)
#   docker build --target example --build-arg EXAMPLE=hello -t sluice/example-hello:0.1.0 .
#
# Every image runs `node dist/<component>/main.js` from /app as user 65532, with only the compiled
# code, the .proto contracts (loaded at run time) and the production node_modules. Settings come from
# env SLUICE_<COMPONENT>_<KEY> (see the chart in charts/sluice/).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop the dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf dist/e2e dist/bench dist/.tsbuildinfo \
 && find dist -name '*.test.js' -o -name '*.test.js.map' | xargs rm -f \
 && mkdir -p /out/protos \
 && cp -r dist node_modules package.json /out/ \
 && cp protos/*.proto /out/protos/

# ---- runtime: what every image shares ------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SLUICE_VERSION=0.1.0
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process: it runs with readOnlyRootFilesystem and writes nothing.
COPY --from=build /out/ /app/
# Numeric, so Kubernetes can check runAsNonRoot without a passwd lookup.
USER 65532:65532
LABEL org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${SLUICE_VERSION}"

FROM runtime AS activator
LABEL org.opencontainers.image.title="sluice-activator"
EXPOSE 8080 9090
ENTRYPOINT ["node", "dist/activator/main.js"]

FROM runtime AS autoscaler
LABEL org.opencontainers.image.title="sluice-autoscaler"
EXPOSE 8090 9090
ENTRYPOINT ["node", "dist/autoscaler/main.js"]

FROM runtime AS scheduler
LABEL org.opencontainers.image.title="sluice-scheduler"
EXPOSE 8091 9090
ENTRYPOINT ["node", "dist/scheduler/main.js"]

FROM runtime AS operator
LABEL org.opencontainers.image.title="sluice-operator"
EXPOSE 9090
ENTRYPOINT ["node", "dist/operator/main.js"]

FROM runtime AS node-agent
LABEL org.opencontainers.image.title="sluice-node-agent"
EXPOSE 9090
ENTRYPOINT ["node", "dist/node-agent/main.js"]

FROM runtime AS queue-proxy
LABEL org.opencontainers.image.title="sluice-queue-proxy"
EXPOSE 8012 8013 8022 9091
ENTRYPOINT ["node", "dist/queue-proxy/main.js"]

# An example function of examples/<EXAMPLE>/ (hello, echo, sleep, cpu, xdt). Last, so a plain
# `docker build .` gives the hello example rather than a component with the wrong name.
FROM runtime AS example
ARG EXAMPLE=hello
LABEL org.opencontainers.image.title="sluice-example-${EXAMPLE}"
ENV SLUICE_EXAMPLE=${EXAMPLE}
RUN test -f "dist/examples/${EXAMPLE}/main.js" \
 || { echo "no example '${EXAMPLE}': expected dist/examples/${EXAMPLE}/main.js (see examples/)" >&2; exit 1; }
EXPOSE 8080
# An exec-form ENTRYPOINT cannot expand variables: the shell does, then `exec`s node as PID 1.
ENTRYPOINT ["/bin/sh", "-c", "exec node \"dist/examples/${SLUICE_EXAMPLE}/main.js\" \"$@\"", "sluice-example"]
