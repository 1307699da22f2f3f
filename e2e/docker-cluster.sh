# shellcheck shell=bash
# What e2e/kind.sh and e2e/k3d.sh share (sourced, not run): prerequisite checks, the image tag, the image
# builds and the suite run. The caller sets SCRIPT (its name, for messages) and ROOT (the repository).

die() {
  echo "${SCRIPT}: $*" >&2
  exit 2
}

# Docker first and at once: without an engine nothing else can work. $1 names the cluster tool.
require_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    die "docker is not installed. $1 runs its nodes as Docker containers; install Docker, or run the e2e suite on the built-in control plane with 'npm run e2e'."
  fi
  if ! docker info >/dev/null 2>&1; then
    die "the Docker engine is not running or not reachable ('docker info' failed; the docker client alone is not enough). Start it (e.g. 'sudo systemctl start docker'), or run the e2e suite on the built-in control plane with 'npm run e2e'."
  fi
}

# $1: the cluster tool, $2: where to get it. helm and kubectl may be the ones e2e/control-plane/build-tools.sh built.
require_tools() {
  local e2e_bin="${SLUICE_E2E_BIN:-${HOME}/.cache/sluice-e2e/k8s-v1.36.3/bin}"
  if [[ -d "${e2e_bin}" ]]; then
    PATH="${PATH}:${e2e_bin}"
  fi
  local tool
  for tool in "$1" helm kubectl npm; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not on PATH ($1: $2; helm and kubectl: e2e/control-plane/build-tools.sh or your package manager)."
  done
}

# The chart's appVersion: the tag of every image.
chart_tag() {
  local tag
  tag="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "${ROOT}/charts/sluice/Chart.yaml")"
  [[ -n "${tag}" ]] || die "no appVersion in charts/sluice/Chart.yaml"
  echo "${tag}"
}

# Builds every component image and one per example function (examples/<name>/main.ts), tagged $1;
# their names go into the array `images`.
build_images() {
  images=()
  local component dir example
  for component in activator autoscaler scheduler operator node-agent queue-proxy; do
    docker build --target "${component}" --tag "sluice/${component}:$1" "${ROOT}"
    images+=("sluice/${component}:$1")
  done
  for dir in "${ROOT}"/examples/*/; do
    example="$(basename "${dir}")"
    [[ -f "${dir}main.ts" ]] || continue
    docker build --target example --build-arg "EXAMPLE=${example}" --tag "sluice/example-${example}:$1" "${ROOT}"
    images+=("sluice/example-${example}:$1")
  done
}

# Runs the Kubernetes e2e suite against the cluster of kubeconfig $1; further arguments go to node --test.
# The suite installs the chart itself (helm install … --set bindAddress=0.0.0.0 on such a cluster, so
# that kubectl port-forward reaches the activator) and uninstalls it at the end.
run_suite() {
  local kubeconfig="$1"
  shift
  cd "${ROOT}" || exit 2
  npm run build
  SLUICE_E2E_KUBECONFIG="${kubeconfig}" node --test --test-concurrency=1 dist/e2e/kubernetes/*.e2e.js "$@"
}
