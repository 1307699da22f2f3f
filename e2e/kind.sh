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
# shellcheck source=e2e/docker-cluster.sh
source "${ROOT}/e2e/docker-cluster.sh"

require_docker kind
require_tools kind https://kind.sigs.k8s.io
TAG="$(chart_tag)"
readonly TAG

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

# ---- images ----
build_images "${TAG}"
kind load docker-image --name "${CLUSTER}" "${images[@]}"

# ---- suite ----
run_suite "${KUBECONFIG_FILE}" "$@"
