#!/usr/bin/env bash
# Builds the real control-plane binaries the e2e suite runs (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, helm) from the Go modules pinned next to this script, into
#   ${SLUICE_E2E_CACHE:-$HOME/.cache/sluice-e2e}/k8s-v1.36.3/bin
# Idempotent: a group of binaries is rebuilt only when one is missing or its stamp (a hash of the
# group's go.mod, go.sum, sources and build command) differs, so a warm run costs about a second.
# A first build took about 4.5 min (Kubernetes and etcd) plus 1 min (helm) on 2 cores; with the Go build
# cache warm, go build itself finds unchanged binaries up to date in a second or two.
set -euo pipefail

K8S_VERSION=v1.36.3
HELM_VERSION=v3.22.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$HERE/tools"
BIN="${SLUICE_E2E_CACHE:-$HOME/.cache/sluice-e2e}/k8s-$K8S_VERSION/bin"

command -v go >/dev/null || { echo "build-tools: 'go' is not on PATH (Go >= 1.26 is needed to build Kubernetes $K8S_VERSION)" >&2; exit 1; }
mkdir -p "$BIN"

# The version variables `kubectl version` and /version report; without them a module build says v0.0.0.
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=36"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-01-01T00:00:00Z"
done
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"

# build <group> <module dir> "<binaries>" <ldflags> <packages...>
build() {
  local group="$1" dir="$2" binaries="$3" ldflags="$4"
  shift 4
  local cmd=(go build -trimpath -ldflags "$ldflags" -o "$BIN/" "$@")
  local shown # the command as one can paste it into a shell
  printf -v shown '%q ' "${cmd[@]}"
  shown="(cd $(printf '%q' "$dir") && ${shown% })"
  local stamp_file="$BIN/.stamp-$group"
  local stamp
  # What the binaries are made of: the module files, this module's own Go sources (not the nested helm
  # module's) and the exact command, so changing a pin or a flag rebuilds.
  stamp="$({ cat "$dir/go.mod" "$dir/go.sum"; find "$dir" -path "$dir/helm" -prune -o -name '*.go' -print | sort | xargs cat; echo "${cmd[*]}"; } | sha256sum | cut -d' ' -f1)"

  local missing=""
  for b in $binaries; do [[ -x "$BIN/$b" ]] || missing+=" $b"; done
  if [[ -z "$missing" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
    echo "build-tools: $group up to date ($binaries) in $BIN"
    return
  fi

  echo "build-tools: building $group ($binaries) into $BIN${missing:+ (missing:$missing)}"
  echo "build-tools: $shown"
  rm -f "$stamp_file" # a build that fails half-way must not look up to date
  local start=$SECONDS
  if ! (cd "$dir" && "${cmd[@]}"); then
    echo "build-tools: FAILED after $((SECONDS - start)) s: $shown" >&2
    exit 1
  fi
  # go build -o dir/ names each binary after its package path's last element: check they are all there.
  for b in $binaries; do
    [[ -x "$BIN/$b" ]] || { echo "build-tools: FAILED: $BIN/$b was not produced by: $shown" >&2; exit 1; }
  done
  echo "$stamp" >"$stamp_file"
  echo "build-tools: built $group in $((SECONDS - start)) s"
}

build k8s "$TOOLS" "kube-apiserver kube-controller-manager kube-scheduler kubectl etcd" "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./etcd
build helm "$TOOLS/helm" "helm" "$helm_ldflags" helm.sh/helm/v3/cmd/helm
