#!/usr/bin/env bash
# Runs the Kubernetes e2e suite against a real k3d (k3s in Docker) cluster, for machines with Docker:
# create the cluster (1 server + 2 agents), build every Sluice image, import them into the nodes,
# then run the Kubernetes e2e suite (dist/e2e/kubernetes/*.e2e.js, which installs the chart itself)
# with SLUICE_E2E_KUBECONFIG pointing at the cluster. Arguments are passed on to node --test.
#
# Env: SLUICE_K3D_CLUSTER (cluster name, default sluice-e2e; an existing cluster is reused),
#      SLUICE_K3D_IMAGE (rancher/k3s image, default: k3d's own; the chart needs Kubernetes >= 1.29),
#      SLUICE_E2E_KEEP_CLUSTER=1 (keep the cluster afterwards; a reused cluster is always kept),
#      SLUICE_E2E_BIN (directory with helm and kubectl, used when they are not on PATH).
# Exit status: the suite's; 2 when a prerequisite (Docker engine, k3d, helm, kubectl) is missing.
set -euo pipefail

readonly SCRIPT=k3d.sh
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly CLUSTER="${SLUICE_K3D_CLUSTER:-sluice-e2e}"
# shellcheck source=e2e/docker-cluster.sh
source "${ROOT}/e2e/docker-cluster.sh"

require_docker k3d
require_tools k3d https://k3d.io
TAG="$(chart_tag)"
readonly TAG

WORK="$(mktemp -d)"
readonly WORK
readonly KUBECONFIG_FILE="${WORK}/kubeconfig"
created=0

cleanup() {
  if [[ "${created}" == 1 && "${SLUICE_E2E_KEEP_CLUSTER:-0}" != 1 ]]; then
    echo "${SCRIPT}: deleting cluster ${CLUSTER} (SLUICE_E2E_KEEP_CLUSTER=1 keeps it)" >&2
    k3d cluster delete "${CLUSTER}" >/dev/null 2>&1 || true
  else
    echo "${SCRIPT}: cluster ${CLUSTER} kept; its kubeconfig: k3d kubeconfig get ${CLUSTER}" >&2
  fi
  rm -rf "${WORK}"
}
trap cleanup EXIT

# ---- cluster ----
if k3d cluster get "${CLUSTER}" >/dev/null 2>&1; then
  echo "${SCRIPT}: reusing cluster ${CLUSTER}" >&2
else
  k3s_image=()
  if [[ -n "${SLUICE_K3D_IMAGE:-}" ]]; then
    k3s_image=(--image "${SLUICE_K3D_IMAGE}")
  fi
  created=1
  # Two agents, like the two nodes of the built-in control plane (placement and XDT across nodes).
  # Traefik is left out: the activator is Sluice's ingress. The user's kubeconfig is left alone.
  k3d cluster create "${CLUSTER}" --agents 2 --wait --timeout 180s "${k3s_image[@]}" \
    --k3s-arg '--disable=traefik@server:0' \
    --kubeconfig-update-default=false --kubeconfig-switch-context=false
fi
k3d kubeconfig get "${CLUSTER}" >"${KUBECONFIG_FILE}"

# ---- images ----
build_images "${TAG}"
k3d image import --cluster "${CLUSTER}" "${images[@]}"

# ---- suite ----
run_suite "${KUBECONFIG_FILE}" "$@"
