#!/usr/bin/env bash
# `npm run offline`: prenv's four Lambda handlers, bundled as for a deploy, under serverless-offline
# on loopback (stage "local"), with ElasticMQ as the SQS FIFO queue and the cluster of KUBECONFIG:
#
#   POST http://127.0.0.1:$PRENV_OFFLINE_PORT/api/github/webhooks  → webhook function → ElasticMQ
#   GET  http://127.0.0.1:$PRENV_OFFLINE_PORT/api/kubeconfig/<owner>/<repo>/<n>  → kubeconfig function
#   prenv-jobs-local.fifo → worker function (scripts/offline-sqs-plugin.js) → cluster, GitHub
#   janitor function on its schedule (PRENV_JANITOR_SCHEDULE), or on demand:
#     curl -s -X POST http://127.0.0.1:$PRENV_OFFLINE_LAMBDA_PORT/2015-03-31/functions/prenv-local-janitor/invocations
#
# Needs: the GitHub App's APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET, from the
# environment or .env (what `npm start`'s setup page writes; the environment wins), and for the
# kubeconfig function GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (on AWS each function reads only
# its own secret; offline they all see these variables, and each uses its own); KUBECONFIG pointing at a reachable cluster (`npm run
# cluster:up` starts a local one and prints it), with KUBE_CONTEXT to pick the bot's context and
# PRENV_ACCESS_KUBE_CONTEXT the kubeconfig function's; Java and, once, Maven for ElasticMQ
# (scripts/elasticmq.sh).
#
# Settings: PRENV_OFFLINE_PORT (HTTP, default 3000), PRENV_OFFLINE_LAMBDA_PORT (Lambda Invoke API,
# default 3002), ELASTICMQ_PORT (default 9324), PRENV_GITHUB_API_URL (a GitHub Enterprise or
# stand-in API), PRENV_OFFLINE_SCHEDULES=off (no scheduled janitor runs),
# PRENV_OFFLINE_RETRY_SECONDS (failed jobs come back after this many seconds instead of the
# queue's 1 h visibility timeout), and every operator setting of README (PRENV_BASE_DOMAIN, ...).
# Extra arguments go to `osls offline start`.
#
# ElasticMQ is started if it is not running, and stopped on exit only if this script started it.
# AWS credentials are replaced by dummy ones: nothing here can reach an AWS account.
# shellcheck disable=SC2016,SC2317  # the Node snippets are single-quoted on purpose; cleanup runs from a trap
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
  printf 'offline: %s\n' "$1" >&2
  exit 1
}

HTTP_PORT="${PRENV_OFFLINE_PORT:-3000}"
LAMBDA_PORT="${PRENV_OFFLINE_LAMBDA_PORT:-3002}"
for port in "$HTTP_PORT" "$LAMBDA_PORT"; do
  if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die "not a port number: '$port'"; fi
done
[[ "$HTTP_PORT" != "$LAMBDA_PORT" ]] || die "PRENV_OFFLINE_PORT and PRENV_OFFLINE_LAMBDA_PORT must differ"
[[ -x node_modules/.bin/osls ]] || die "osls is not installed: run npm ci"

# --- the GitHub App: environment first, then .env --------------------------------------------------
if [[ -f .env ]]; then
  # Parsed by Node's own dotenv parser, as Probot does for `npm start`; NUL-separated NAME=value.
  while IFS= read -r -d '' pair; do
    name="${pair%%=*}"
    [[ -v "$name" ]] || export "${pair?}"
  done < <(node -e '
    const env = require("node:util").parseEnv(require("node:fs").readFileSync(".env", "utf8"));
    for (const [k, v] of Object.entries(env)) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) process.stdout.write(`${k}=${v}\0`);
    }')
fi
if [[ -z "${PRIVATE_KEY:-}" && -n "${PRIVATE_KEY_PATH:-}" ]]; then
  [[ -r "$PRIVATE_KEY_PATH" ]] || die "PRIVATE_KEY_PATH names no readable file: $PRIVATE_KEY_PATH"
  PRIVATE_KEY="$(cat "$PRIVATE_KEY_PATH")"
  export PRIVATE_KEY
fi
missing=()
for name in APP_ID PRIVATE_KEY WEBHOOK_SECRET; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  die "the GitHub App is not configured: set $(printf '%s, ' "${missing[@]}" | sed 's/, $//') (in the environment or .env; PRIVATE_KEY_PATH for a key file), e.g. with npm start's setup page"
fi

# --- the cluster ---------------------------------------------------------------------------------------
[[ -n "${KUBECONFIG:-}" ]] ||
  die "KUBECONFIG is not set: point it at the cluster prenv deploys to (npm run cluster:up starts a local one and prints its KUBECONFIG)"
[[ "$KUBECONFIG" != *:* ]] || die "KUBECONFIG must name one file, not a list: $KUBECONFIG"
[[ -r "$KUBECONFIG" ]] || die "KUBECONFIG names no readable file: $KUBECONFIG (npm run cluster:up prints a current one)"
export KUBECONFIG
cluster="$(
  timeout 20 node --input-type=module -e '
    import { KubeConfig, VersionApi } from "@kubernetes/client-node";
    const kc = new KubeConfig();
    kc.loadFromFile(process.env.KUBECONFIG);
    const context = process.env.KUBE_CONTEXT || kc.getCurrentContext();
    if (!kc.getContextObject(context)) {
      console.log(`has no context "${context}" (KUBE_CONTEXT)`);
      process.exit(1);
    }
    kc.setCurrentContext(context);
    const server = kc.getCurrentCluster()?.server ?? "(no server)";
    try {
      const v = await kc.makeApiClient(VersionApi).getCode();
      console.log(`${server} (context ${context}, Kubernetes ${v.gitVersion})`);
    } catch (err) {
      console.log(`context ${context}: ${server} does not answer (${err.cause?.code ?? err.code ?? err.message})`);
      process.exit(1);
    }' 2>&1
)" || die "the cluster in KUBECONFIG=$KUBECONFIG ${cluster:-did not answer within 20 s} (npm run cluster:up starts a local one)"
echo "offline: cluster $cluster"

# --- ports, AWS, ElasticMQ -----------------------------------------------------------------------------
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_answers "$HTTP_PORT" && die "port $HTTP_PORT is in use: set PRENV_OFFLINE_PORT"
port_answers "$LAMBDA_PORT" && die "port $LAMBDA_PORT is in use: set PRENV_OFFLINE_LAMBDA_PORT"

unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION="${AWS_REGION:-us-east-1}" \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
# The functions run on Node 22 in Lambda; locally the SDK's notice about older Node versions is noise
# (serverless-offline passes AWS_* variables on to the functions too).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

started_elasticmq=0
osls_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$osls_pid" ]] && kill -0 "$osls_pid" 2>/dev/null; then
    kill -TERM "$osls_pid" 2>/dev/null || true
    wait "$osls_pid" 2>/dev/null || true
  fi
  if ((started_elasticmq)); then bash scripts/elasticmq.sh stop || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! bash scripts/elasticmq.sh status >/dev/null 2>&1; then
  bash scripts/elasticmq.sh start
  started_elasticmq=1
else
  bash scripts/elasticmq.sh status
fi

# --- serverless-offline ----------------------------------------------------------------------------
echo "offline: webhook URL http://127.0.0.1:$HTTP_PORT/api/github/webhooks"
node_modules/.bin/osls offline start --stage local --httpPort "$HTTP_PORT" --lambdaPort "$LAMBDA_PORT" "$@" &
osls_pid=$!
set +e
wait "$osls_pid"
rc=$?
set -e
osls_pid=""
exit "$rc"
