#!/usr/bin/env bash
# Runs the Kubernetes e2e suite against a real kind cluster (for machines with Docker):
# create the cluster (1 control plane + 2 workers), build every Sluice image, load them into the
# nodes, then run the Kubernetes e2e suite (dist/e2e/kubernetes/*.e2e.js, which installs the chart
# itself) with SLUICE_E2E_KUBECONFIG pointing at the cluster. Arguments are passed on to node --test.
#
# Env: SLUICE_KIND_CLUSTER (cluster name, default sluice-e2e; an existing cluster is reused),
#      SLUICE_KIND_NODE_IMAGE (kindest/node image, default: kind's own),
#      SLUICE_E2E_KEEP_CLUSTER=1 (keep the cluster afterwards; a reused cluster is always kept),
#      SLUICE_E2E_BIN (directory with helm and kubectl, used when they are not on PATH).
# Exit status: the suite's; 2 when a prerequisite (Docker engine, kind, helm, kubectl) is missing.
set -euo pipefail

readonly SCRIPT=kind.sh
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly CLUSTER="${SLUICE_KIND_CLUSTER:-sluice-e2e}"
readonly COMPONENTS=(activator autoscaler scheduler operator node-agent queue-proxy)

die() {
  echo "${SCRIPT}: $*" >&2
  exit 2
}

# Docker first and at once: without an engine nothing below can work.
if ! command -v docker >/dev/null 2>&1; then
  die "docker is not installed. kind runs its nodes as Docker containers; install Docker, or run the e2e suite on the built-in control plane with 'npm run e2e'."
fi
if ! docker info >/dev/null 2>&1; then
  die "the Docker engine is not running or not reachable ('docker info' failed; the docker client alone is not enough). Start it (e.g. 'sudo systemctl start docker'), or run the e2e suite on the built-in control plane with 'npm run e2e'."
fi

# helm and kubectl may be the ones e2e/control-plane/build-tools.sh built.
E2E_BIN="${SLUICE_E2E_BIN:-${HOME}/.cache/sluice-e2e/k8s-v1.36.3/bin}"
if [[ -d "${E2E_BIN}" ]]; then
  PATH="${PATH}:${E2E_BIN}"
fi
for tool in kind helm kubectl npm; do
  command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not on PATH (kind: https://kind.sigs.k8s.io; helm and kubectl: e2e/control-plane/build-tools.sh or your package manager)."
done

TAG="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "${ROOT}/charts/sluice/Chart.yaml")"
readonly TAG
[[ -n "${TAG}" ]] || die "no appVersion in charts/sluice/Chart.yaml"

WORK="$(mktemp -d)"
readonly WORK
readonly KUBECONFIG_FILE="${WORK}/kubeconfig"
created=0

cleanup() {
  if [[ "${created}" == 1 && "${SLUICE_E2E_KEEP_CLUSTER:-0}" != 1 ]]; then
    echo "${SCRIPT}: deleting cluster ${CLUSTER} (SLUICE_E2E_KEEP_CLUSTER=1 keeps it)" >&2
    kind delete cluster --name "${CLUSTER}" >/dev/null 2>&1 || true
  else
    echo "${SCRIPT}: cluster ${CLUSTER} kept; its kubeconfig: kind export kubeconfig --name ${CLUSTER}" >&2
  fi
  rm -rf "${WORK}"
}
trap cleanup EXIT

# ---- cluster ----
if kind get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
  echo "${SCRIPT}: reusing cluster ${CLUSTER}" >&2
  kind export kubeconfig --name "${CLUSTER}" --kubeconfig "${KUBECONFIG_FILE}"
else
  node_image=()
  if [[ -n "${SLUICE_KIND_NODE_IMAGE:-}" ]]; then
    node_image=(--image "${SLUICE_KIND_NODE_IMAGE}")
  fi
  created=1
  kind create cluster --name "${CLUSTER}" --kubeconfig "${KUBECONFIG_FILE}" --wait 180s "${node_image[@]}" --config - <<'EOF'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
# Two workers, like the two nodes of the built-in control plane (placement and XDT across nodes).
nodes:
  - role: control-plane
  - role: worker
  - role: worker
EOF
fi

# ---- images: every component, and one per example function (examples/<name>/main.ts) ----
images=()
for component in "${COMPONENTS[@]}"; do
  docker build --target "${component}" --tag "sluice/${component}:${TAG}" "${ROOT}"
  images+=("sluice/${component}:${TAG}")
done
for dir in "${ROOT}"/examples/*/; do
  example="$(basename "${dir}")"
  [[ -f "${dir}main.ts" ]] || continue
  docker build --target example --build-arg "EXAMPLE=${example}" --tag "sluice/example-${example}:${TAG}" "${ROOT}"
  images+=("sluice/example-${example}:${TAG}")
done
kind load docker-image --name "${CLUSTER}" "${images[@]}"

# ---- suite ----
cd "${ROOT}"
# The suite installs the chart itself (helm install … --set bindAddress=0.0.0.0 on such a cluster, so
# that kubectl port-forward reaches the activator) and uninstalls it at the end.
npm run build
SLUICE_E2E_KUBECONFIG="${KUBECONFIG_FILE}" node --test --test-concurrency=1 dist/e2e/kubernetes/*.e2e.js "$@"
