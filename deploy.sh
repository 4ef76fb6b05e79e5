#!/usr/bin/env bash
# Deploys Breakwater with Docker Compose (one host) or to Kubernetes (kustomize overlays),
# waits until the new version is healthy, and rolls back when it is not.
#
#   ./deploy.sh compose [--tag TAG] [--env-file FILE] [--dry-run]
#   ./deploy.sh k8s staging|production|demo [--tag TAG] [--context CTX] [--dry-run]
#
# --tag       image tag to deploy (a commit SHA from CI). Compose: default BREAKWATER_TAG from
#             the env file. Kubernetes: default the overlay's tag as committed.
# --dry-run   check and print every step without changing anything; preflight problems are
#             reported, not fatal. Needs neither docker nor kubectl.
# Environment: IMAGE_REPOSITORY (k8s; default ghcr.io/your-org/breakwater), KUBE_CONTEXT (k8s;
# same as --context), ROLLOUT_TIMEOUT (default 300s), SMOKE_TIMEOUT_S (default 60).
# Exit status: 0 deployed (or dry run done), 1 preflight failed, 2 usage, 3 rolled back.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-300s}"
SMOKE_TIMEOUT_S="${SMOKE_TIMEOUT_S:-60}"
IMAGE_REPOSITORY="${IMAGE_REPOSITORY:-ghcr.io/your-org/breakwater}"

DRY_RUN=0
TARGET=""
ENVIRONMENT=""
TAG=""
KUBE_CONTEXT="${KUBE_CONTEXT:-}"
ENV_FILE="$ROOT/.env.prod"
COMPOSE_FILE="$ROOT/docker-compose.prod.yml"
PROBLEMS=()
TMP_DIR=""

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

log() { printf 'deploy: %s\n' "$*"; }
die() { printf 'deploy: error: %s\n' "$*" >&2; exit "${2:-1}"; }

# Prints a command; runs it unless this is a dry run.
run() {
  printf '+ %s\n' "$*"
  if [ "$DRY_RUN" -eq 0 ]; then
    "$@"
  fi
}

problem() { PROBLEMS+=("$1"); }

# Dry run: report the problems and go on. Real run: stop before changing anything.
end_preflight() {
  if [ "${#PROBLEMS[@]}" -eq 0 ]; then
    log "preflight: ok"
    return 0
  fi
  local p
  for p in "${PROBLEMS[@]}"; do
    printf 'deploy: preflight: %s\n' "$p" >&2
  done
  if [ "$DRY_RUN" -eq 1 ]; then
    log "preflight: ${#PROBLEMS[@]} problem(s) reported; a real run would stop here (dry run goes on)"
    return 0
  fi
  die "preflight failed: ${#PROBLEMS[@]} problem(s), nothing was changed" 1
}

need_tool() { # need_tool <command> <why>
  command -v "$1" >/dev/null 2>&1 || problem "'$1' is not installed ($2)"
}

cleanup() {
  if [ -n "$TMP_DIR" ]; then
    rm -rf "$TMP_DIR"
  fi
}
trap cleanup EXIT

parse_args() {
  [ "$#" -gt 0 ] || { usage; exit 2; }
  TARGET="$1"
  shift
  case "$TARGET" in
    compose) ;;
    k8s)
      [ "$#" -gt 0 ] || die "k8s needs an environment: staging, production or demo" 2
      ENVIRONMENT="$1"
      shift
      case "$ENVIRONMENT" in
        staging | production | demo) ;;
        *) die "unknown environment '$ENVIRONMENT': expected staging, production or demo" 2 ;;
      esac
      ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown target '$TARGET': expected compose or k8s" 2 ;;
  esac
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --tag) [ "$#" -ge 2 ] || die "--tag needs a value" 2; TAG="$2"; shift ;;
      --tag=*) TAG="${1#--tag=}" ;;
      --context) [ "$#" -ge 2 ] || die "--context needs a value" 2; KUBE_CONTEXT="$2"; shift ;;
      --context=*) KUBE_CONTEXT="${1#--context=}" ;;
      --env-file) [ "$#" -ge 2 ] || die "--env-file needs a value" 2; ENV_FILE="$2"; shift ;;
      --env-file=*) ENV_FILE="${1#--env-file=}" ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option '$1'" 2 ;;
    esac
    shift
  done
  if [ -n "$TAG" ] && ! [[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
    die "--tag '$TAG' is not a valid image tag" 2
  fi
  if [ "$TAG" = "latest" ]; then
    die "--tag latest is refused: deploy an immutable tag (commit SHA or release)" 2
  fi
}

# ---------------------------------------------------------------- Compose --------------------

# Value of KEY in the env file (last assignment wins, as in Compose).
env_value() {
  sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1
}

compose() {
  docker compose --env-file "$ENV_FILE" -f "$COMPOSE_FILE" "$@"
}

compose_preflight() {
  need_tool docker "Docker Engine with the compose plugin"
  if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
    problem "'docker compose' (the Compose v2 plugin) is not available"
  fi
  if [ ! -f "$ENV_FILE" ]; then
    problem "env file $ENV_FILE does not exist (copy .env.prod and fill it, docs/deploy.md)"
  else
    if grep -q 'CHANGE_ME' "$ENV_FILE"; then
      problem "$ENV_FILE still has CHANGE_ME placeholders: $(grep -o '^[A-Z_]*=CHANGE_ME' "$ENV_FILE" | cut -d= -f1 | paste -sd, -)"
    fi
    [ -n "$TAG" ] || TAG="$(env_value BREAKWATER_TAG)"
  fi
  [ -n "$TAG" ] || problem "no image tag: pass --tag or set BREAKWATER_TAG in $ENV_FILE"
  [ -f "$ROOT/secrets/api-keys" ] ||
    problem "secrets/api-keys does not exist (hashed API keys, name:sha256hex per line; docs/deploy.md)"
  [ -f "$ROOT/deploy/compose/prod/gateway.yaml" ] || problem "deploy/compose/prod/gateway.yaml (routes file) is missing"
  end_preflight
}

# Tag of the image the running gateway container was created from, or nothing.
running_compose_tag() {
  local id image
  id="$(compose ps -q gateway 2>/dev/null | head -n 1)"
  [ -n "$id" ] || return 0
  image="$(docker inspect --format '{{.Config.Image}}' "$id" 2>/dev/null)" || return 0
  printf '%s\n' "${image##*:}"
}

compose_up() { # compose_up <tag>
  printf '+ BREAKWATER_TAG=%s docker compose --env-file %s -f %s up -d --wait --wait-timeout %s\n' \
    "$1" "${ENV_FILE#"$ROOT"/}" "${COMPOSE_FILE#"$ROOT"/}" "${ROLLOUT_TIMEOUT%s}"
  [ "$DRY_RUN" -eq 1 ] && return 0
  BREAKWATER_TAG="$1" compose up -d --wait --wait-timeout "${ROLLOUT_TIMEOUT%s}"
}

compose_ready() {
  printf '+ docker compose ... exec -T gateway node -e <GET /health/ready on MANAGEMENT_PORT>\n'
  [ "$DRY_RUN" -eq 1 ] && return 0
  compose exec -T gateway node -e \
    "fetch('http://127.0.0.1:'+(process.env.MANAGEMENT_PORT||process.env.PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
}

# Record the deployed tag in the env file, so that a later `docker compose up` keeps it.
record_compose_tag() {
  printf '+ set BREAKWATER_TAG=%s in %s\n' "$1" "${ENV_FILE#"$ROOT"/}"
  [ "$DRY_RUN" -eq 1 ] && return 0
  local tmp
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  sed "s/^BREAKWATER_TAG=.*/BREAKWATER_TAG=$1/" "$ENV_FILE" >"$tmp"
  chmod --reference="$ENV_FILE" "$tmp" 2>/dev/null || true
  mv "$tmp" "$ENV_FILE"
}

deploy_compose() {
  log "target: Docker Compose ($COMPOSE_FILE, env file $ENV_FILE)$([ "$DRY_RUN" -eq 1 ] && echo ', dry run')"
  compose_preflight
  local previous=""
  if [ "$DRY_RUN" -eq 0 ]; then
    previous="$(running_compose_tag)"
  fi
  log "deploying tag ${TAG:-<none>} (running now: ${previous:-none known})"
  printf '+ BREAKWATER_TAG=%s docker compose --env-file %s -f %s pull gateway\n' \
    "$TAG" "${ENV_FILE#"$ROOT"/}" "${COMPOSE_FILE#"$ROOT"/}"
  if [ "$DRY_RUN" -eq 0 ]; then
    BREAKWATER_TAG="$TAG" compose pull gateway
  fi
  if compose_up "$TAG" && compose_ready; then
    record_compose_tag "$TAG"
    if [ "$DRY_RUN" -eq 1 ]; then
      log "dry run: if the gateway did not become healthy, deploy.sh would roll back to the running tag:"
      compose_up '<running tag>'
      log "dry run done: nothing was changed"
    else
      log "gateway $TAG is healthy and ready"
    fi
    return 0
  fi
  log "gateway $TAG did not become healthy: rolling back"
  if [ -n "$previous" ] && [ "$previous" != "$TAG" ]; then
    compose_up "$previous" || log "rollback to $previous did not become healthy either: see docs/deploy.md, Troubleshooting"
    log "rolled back to $previous"
  else
    log "no previous tag known to roll back to; the stack is left as it is (docker compose logs gateway)"
  fi
  exit 3
}

# ---------------------------------------------------------------- Kubernetes -----------------

KUBECTL=(kubectl)
kube() { "${KUBECTL[@]}" "$@"; }

k8s_preflight() {
  OVERLAY="$ROOT/k8s/overlays/$ENVIRONMENT"
  [ -f "$OVERLAY/kustomization.yaml" ] || die "overlay $OVERLAY does not exist" 1
  NAMESPACE="$(sed -n 's/^namespace: *//p' "$OVERLAY/kustomization.yaml" | head -n 1)"
  [ -n "$NAMESPACE" ] || die "overlay $ENVIRONMENT sets no namespace" 1
  [ -z "$KUBE_CONTEXT" ] || KUBECTL=(kubectl --context "$KUBE_CONTEXT")
  need_tool kubectl "kubectl apply -k, rollout status/undo"
  if [ -n "$TAG" ]; then
    need_tool kustomize "kustomize edit set image (sets the tag in a copy of k8s/)"
  fi
  need_tool curl "the smoke test"
  if [ "$ENVIRONMENT" = "production" ] && [ -z "$KUBE_CONTEXT" ]; then
    problem "production needs an explicit --context (or KUBE_CONTEXT), so that no one deploys to the wrong cluster"
  fi
  if command -v kubectl >/dev/null 2>&1; then
    if [ -n "$KUBE_CONTEXT" ] && ! kubectl config get-contexts "$KUBE_CONTEXT" >/dev/null 2>&1; then
      problem "kube context '$KUBE_CONTEXT' does not exist in the kubeconfig"
    elif [ -z "$KUBE_CONTEXT" ] && ! kubectl config current-context >/dev/null 2>&1; then
      problem "kubectl has no current context"
    elif ! kube version --request-timeout=10s >/dev/null 2>&1; then
      problem "the cluster of context '${KUBE_CONTEXT:-$(kubectl config current-context)}' does not answer"
    elif [ "$ENVIRONMENT" != "demo" ] && ! kube -n "$NAMESPACE" get secret breakwater-secrets >/dev/null 2>&1; then
      problem "secret breakwater-secrets is missing in namespace $NAMESPACE (create it from k8s/secret.template.yaml)"
    fi
  fi
  end_preflight
}

# A copy of k8s/ with the image tag set, so the working tree stays as committed.
prepare_manifests() {
  TMP_DIR="$(mktemp -d)"
  cp -R "$ROOT/k8s" "$TMP_DIR/k8s"
  APPLY_DIR="$TMP_DIR/k8s/overlays/$ENVIRONMENT"
  if [ -n "$TAG" ]; then
    local images=("breakwater-gateway=$IMAGE_REPOSITORY/gateway:$TAG")
    if [ "$ENVIRONMENT" = "demo" ]; then
      images+=("breakwater-flaky-upstream=$IMAGE_REPOSITORY/flaky-upstream:$TAG")
    fi
    printf '+ (cd <copy of k8s>/overlays/%s && kustomize edit set image %s)\n' "$ENVIRONMENT" "${images[*]}"
    if command -v kustomize >/dev/null 2>&1; then
      (cd "$APPLY_DIR" && kustomize edit set image "${images[@]}")
    fi
  fi
  if [ "$DRY_RUN" -eq 1 ] && command -v kustomize >/dev/null 2>&1; then
    log "dry run: the manifests that would be applied:"
    kustomize build "$APPLY_DIR" | awk '/^kind: / { kind = $2 } /^  name: / && kind { print "  " kind "/" $2; kind = "" } /^ +image: / { print "      image " $2 }'
  fi
}

k8s_smoke() {
  printf '+ %s -n %s port-forward deploy/breakwater-gateway 19090:management; curl http://127.0.0.1:19090/health/ready\n' \
    "${KUBECTL[*]}" "$NAMESPACE"
  [ "$DRY_RUN" -eq 1 ] && return 0
  local port=19090 pf_pid ok=1 deadline
  kube -n "$NAMESPACE" port-forward deploy/breakwater-gateway "$port:management" >/dev/null 2>&1 &
  pf_pid=$!
  deadline=$((SECONDS + SMOKE_TIMEOUT_S))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 3 "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
      ok=0
      break
    fi
    sleep 2
  done
  kill "$pf_pid" 2>/dev/null || true
  wait "$pf_pid" 2>/dev/null || true
  return "$ok"
}

k8s_rollout() {
  # Redis first (the gateway's readiness needs it), unless a managed Redis replaced it.
  if [ "$DRY_RUN" -eq 1 ] || kube -n "$NAMESPACE" get statefulset/breakwater-redis >/dev/null 2>&1; then
    run "${KUBECTL[@]}" -n "$NAMESPACE" rollout status statefulset/breakwater-redis --timeout="$ROLLOUT_TIMEOUT" || return 1
  fi
  run "${KUBECTL[@]}" -n "$NAMESPACE" rollout status deployment/breakwater-gateway --timeout="$ROLLOUT_TIMEOUT"
}

k8s_rollback() {
  run "${KUBECTL[@]}" -n "$NAMESPACE" rollout undo deployment/breakwater-gateway
  run "${KUBECTL[@]}" -n "$NAMESPACE" rollout status deployment/breakwater-gateway --timeout="$ROLLOUT_TIMEOUT" ||
    log "the rollback did not finish in time either: see docs/deploy.md, Troubleshooting"
}

deploy_k8s() {
  log "target: Kubernetes overlay $ENVIRONMENT (context ${KUBE_CONTEXT:-current})$([ "$DRY_RUN" -eq 1 ] && echo ', dry run')"
  k8s_preflight
  log "namespace $NAMESPACE, image tag ${TAG:-as committed in the overlay}"
  prepare_manifests
  # Let the API server validate everything first (client-side when the namespace is new).
  local check=client
  if [ "$DRY_RUN" -eq 1 ] || kube get namespace "$NAMESPACE" >/dev/null 2>&1; then
    check=server
  fi
  run "${KUBECTL[@]}" apply -k "$APPLY_DIR" --dry-run="$check"
  run "${KUBECTL[@]}" apply -k "$APPLY_DIR"
  if k8s_rollout && k8s_smoke; then
    if [ "$DRY_RUN" -eq 1 ]; then
      log "dry run: if the rollout or the smoke test failed, deploy.sh would roll back:"
      k8s_rollback
      log "dry run done: nothing was changed"
    else
      log "rollout of $ENVIRONMENT done, gateway ready"
    fi
    return 0
  fi
  log "the new version is not healthy: rolling back"
  k8s_rollback
  exit 3
}

main() {
  parse_args "$@"
  case "$TARGET" in
    compose) deploy_compose ;;
    k8s) deploy_k8s ;;
  esac
}

main "$@"
