#!/usr/bin/env bash
# Installs the external tools the test suite needs, idempotently and version-pinned.
# Called by `npm test` (pretest), .ci/run and the GitHub workflow. Where it cannot
# install (not root, no apt), it stops with the exact command to run.
set -euo pipefail

# Versions of the Go-installed tools (pinned).
KUSTOMIZE_VERSION="v5.7.1"
ACTIONLINT_VERSION="v1.7.7"

TOOLS_BIN="${BREAKWATER_TOOLS_BIN:-$HOME/go/bin}"
export PATH="$TOOLS_BIN:/usr/local/go/bin:$PATH"

apt_updated=0
need_apt() { # need_apt <command> <debian package>
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-tools: '$cmd' is missing. Install it with: sudo apt-get install -y $pkg" >&2
    exit 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  echo "ensure-tools: installing $pkg" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
}

need_go() { # need_go <command> <module@version>
  local cmd="$1" mod="$2"
  if [ -x "$TOOLS_BIN/$cmd" ] && [ -f "$TOOLS_BIN/.$cmd.version" ] && [ "$(cat "$TOOLS_BIN/.$cmd.version")" = "$mod" ]; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "ensure-tools: '$cmd' is missing and Go is not installed. Install Go, then run: go install $mod" >&2
    exit 1
  fi
  echo "ensure-tools: go install $mod" >&2
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" go install "$mod"
  echo "$mod" > "$TOOLS_BIN/.$cmd.version"
}

need_apt redis-server redis-server
need_apt redis-cli redis-tools
need_apt openssl openssl
need_apt promtool prometheus  # promtool: check/test the alert rules and /metrics (the package may start a prometheus daemon: harmless)
# Deployment checks (test/deploy): kustomize builds the overlays, actionlint the workflows,
# deploy.sh and scripts/*.sh go through shellcheck.
need_go kustomize "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}"
need_go actionlint "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
need_apt shellcheck shellcheck
# Dashboard browser test (test/dashboard.e2e-spec.ts): playwright-core drives Debian's Chromium; never a downloaded browser.
need_apt chromium chromium
# Bench (npm run bench): wrk drives the load (C, one thread: lighter on shared cores than autocannon,
# which the bench falls back to); nginx-light is the C anchor row ("not installed" when absent).
need_apt wrk wrk
need_apt nginx nginx-light
