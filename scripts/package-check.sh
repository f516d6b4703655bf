#!/usr/bin/env bash
# Packages prenv for AWS exactly as a deploy would, but offline and without AWS credentials, then
# checks the result:
#   1. `osls package` (esbuild bundles + CloudFormation template) with every AWS credential
#      source switched off, so nothing account-dependent can sneak into packaging;
#   2. cfn-lint on the generated template (rules and kept warnings: .cfnlintrc.yaml);
#   3. invariants cfn-lint cannot know (queue visibility vs worker timeout, zip contents);
#   4. prints each function's zip size, and the worker's render layer (helm, kustomize for arm64,
#      built by tools/render/build.sh outside the repository) with its unzipped size counted
#      against Lambda's 250 MB limit for the worker and its layers;
#   5. unzips each function and imports its bundle with Node, as the Lambda runtime would at a
#      cold start (ESM/CommonJS interop, templates/ found beside the bundle). Entry modules must
#      therefore not call AWS at import time: that belongs in the first invocation.
#
# Usage: bash scripts/package-check.sh [stage]        (stage defaults to "ci")
#
# cfn-lint comes from PyPI, pinned, into a virtualenv under
# ${XDG_CACHE_HOME:-~/.cache}/prenv-tools/cfn-lint/<version>, created once and reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CFN_LINT_VERSION=1.58.0
STAGE="${1:-ci}"
REGION="${PRENV_PACKAGE_REGION:-us-east-1}"
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/prenv-tools"
FUNCTIONS=(webhook worker janitor kubeconfig relay)

step() { printf '\n=== %s\n' "$1"; }
die() {
  printf 'package-check: %s\n' "$1" >&2
  exit 1
}

# --- 0. the entry points serverless.yml names must exist -----------------------------------------
for fn in "${FUNCTIONS[@]}"; do
  [[ -f "src/lambda/$fn.ts" ]] || die "src/lambda/$fn.ts is missing (serverless.yml bundles it as function '$fn')"
done
[[ -x node_modules/.bin/osls ]] || die "osls is not installed: run npm ci"

# --- cfn-lint, pinned, in a reusable virtualenv ----------------------------------------------------
cfn_lint_dir="$TOOLS/cfn-lint/$CFN_LINT_VERSION"
cfn_lint="$cfn_lint_dir/bin/cfn-lint"
if [[ ! -f "$cfn_lint_dir/.installed" ]]; then
  step "installing cfn-lint $CFN_LINT_VERSION into $cfn_lint_dir"
  command -v python3 >/dev/null 2>&1 || die "python3 is required for cfn-lint"
  rm -rf "$cfn_lint_dir"
  python3 -m venv "$cfn_lint_dir" || die "python3 cannot create a virtualenv (on Debian: apt-get install python3-venv)"
  "$cfn_lint_dir/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
  touch "$cfn_lint_dir/.installed"
fi

# --- the worker's render layer (built once, then reused from the cache) -----------------------------
step "render layer (tools/render/build.sh)"
render_dir="$(bash tools/render/build.sh | tail -1)" || die "the render tools could not be built (see above)"
export PRENV_RENDER_LAYER_ZIP="$render_dir/layer-arm64.zip"
[[ -f "$PRENV_RENDER_LAYER_ZIP" ]] || die "tools/render/build.sh did not produce $PRENV_RENDER_LAYER_ZIP"

# --- 1. package with no AWS credentials --------------------------------------------------------------
step "osls package --stage $STAGE --region $REGION (no AWS credentials)"
rm -rf .serverless
no_aws=(
  env
  -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN
  -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SDK_LOAD_CONFIG -u AWS_ROLE_ARN
  -u AWS_WEB_IDENTITY_TOKEN_FILE -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_CONTAINER_AUTHORIZATION_TOKEN
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  # scripts/package-offline-plugin.js: no question to CloudFormation about already uploaded layers
  PRENV_PACKAGE_OFFLINE=1
)
"${no_aws[@]}" node_modules/.bin/osls package --stage "$STAGE" --region "$REGION"

template=.serverless/cloudformation-template-update-stack.json
[[ -f "$template" ]] || die "osls did not write $template"

# --- 2. cfn-lint -------------------------------------------------------------------------------------
step "cfn-lint $("$cfn_lint" --version | awk '{print $2}') $template"
"$cfn_lint" --config-file .cfnlintrc.yaml --regions "$REGION" -- "$template"
echo "cfn-lint: no errors"

# --- 3 + 4. invariants and sizes -------------------------------------------------------------------
step "invariants and bundle sizes"
"$cfn_lint_dir/bin/python" - "$template" .serverless templates "$PRENV_RENDER_LAYER_ZIP" "${FUNCTIONS[@]}" <<'PY'
import json, os, sys, zipfile

template_path, out_dir, templates_dir, layer_zip, *functions = sys.argv[1:]
resources = json.load(open(template_path))["Resources"]
problems = []

worker = resources["WorkerLambdaFunction"]["Properties"]
worker_env = worker["Environment"]["Variables"]
queue = resources["JobsQueue"]["Properties"]
mappings = {
    r["Properties"]["FunctionName"]["Fn::GetAtt"][0]: r["Properties"]
    for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
}
mapping = mappings["WorkerLambdaFunction"]
timeout = worker["Timeout"]
visibility = queue["VisibilityTimeout"]
vcluster_ready = int(worker_env["PRENV_VCLUSTER_READY_TIMEOUT_SECONDS"])
ready = 0 if worker_env.get("PRENV_READY_CHECK") == "rollout" else int(worker_env["PRENV_READY_TIMEOUT_SECONDS"])
batch = mapping["BatchSize"]
if visibility < 6 * timeout:
    problems.append(f"JobsQueue VisibilityTimeout {visibility}s < 6 x worker timeout {timeout}s")
# Rollouts are not waited for in a job (follow-up jobs look at them; docs/adr/0012); the ready
# wait after them is, in the follow-up that sees the workloads ready.
if batch * (vcluster_ready + ready + 60) > timeout:
    problems.append(
        f"worker timeout {timeout}s < batch size {batch} x (PRENV_VCLUSTER_READY_TIMEOUT_SECONDS {vcluster_ready}s"
        f" + PRENV_READY_TIMEOUT_SECONDS {ready}s + 60s)"
    )
if mapping["EventSourceArn"] != {"Fn::GetAtt": ["JobsQueue", "Arn"]}:
    problems.append("the worker must read the jobs queue")
# The relay: from the delay queue (standard, per-message delays) into the jobs queue, nothing else.
relay = resources["RelayLambdaFunction"]["Properties"]
relay_mapping = mappings.get("RelayLambdaFunction", {})
delay = resources["DelayQueue"]["Properties"]
if relay_mapping.get("EventSourceArn") != {"Fn::GetAtt": ["DelayQueue", "Arn"]}:
    problems.append("the relay must read the delay queue")
if "ReportBatchItemFailures" not in relay_mapping.get("FunctionResponseTypes", []):
    problems.append("the relay's SQS event source must use ReportBatchItemFailures")
if delay.get("FifoQueue"):
    problems.append("the delay queue must be a standard queue (FIFO queues have no per-message delay)")
if delay["VisibilityTimeout"] < 6 * relay["Timeout"]:
    problems.append(f"DelayQueue VisibilityTimeout {delay['VisibilityTimeout']}s < 6 x relay timeout {relay['Timeout']}s")
def sqs_grants(role):
    grants = {}
    for policy in resources[role]["Properties"].get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for a in actions:
                if a.startswith("sqs:") or a == "*":
                    grants.setdefault(json.dumps(st["Resource"]), set()).add(a)
    return grants
want_sqs = {
    "WebhookRole": {'{"Fn::GetAtt": ["JobsQueue", "Arn"]}': {"sqs:SendMessage"}},
    "WorkerRole": {
        '{"Fn::GetAtt": ["JobsQueue", "Arn"]}': {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        '{"Fn::GetAtt": ["DelayQueue", "Arn"]}': {"sqs:SendMessage"},
    },
    "JanitorRole": {'{"Fn::GetAtt": ["JobsQueue", "Arn"]}': {"sqs:SendMessage"}},
    "RelayRole": {
        '{"Fn::GetAtt": ["DelayQueue", "Arn"]}': {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        '{"Fn::GetAtt": ["JobsQueue", "Arn"]}': {"sqs:SendMessage"},
    },
    "KubeconfigRole": {},
}
for role, want in want_sqs.items():
    if sqs_grants(role) != want:
        problems.append(f"{role} SQS rights {sqs_grants(role)} differ from exactly {want}")
if int(worker_env.get("PRENV_MAX_RECEIVE_COUNT", "0")) != queue["RedrivePolicy"]["maxReceiveCount"]:
    problems.append("worker PRENV_MAX_RECEIVE_COUNT differs from the JobsQueue RedrivePolicy maxReceiveCount")
if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
    problems.append("the worker's SQS event source must use ReportBatchItemFailures")
if queue.get("ContentBasedDeduplication") is not False:
    problems.append("JobsQueue must not use content-based deduplication (jobs carry a dedup id)")

# Each function reads only its own secret (README, "Deployment on AWS"): its role may get that one
# secret's value and no other, and only its environment names it.
own_secret = {"webhook": "webhook", "worker": "github-app", "janitor": "github-app", "kubeconfig": "kubeconfig", "relay": None}
secret_vars = {"PRENV_SECRET_ID", "PRENV_WEBHOOK_SECRET_ID", "PRENV_KUBECONFIG_SECRET_ID"}
def secret_arns(role):
    found = []
    for policy in resources[role]["Properties"].get("Policies", []):
        for st in policy["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if any(a.startswith("secretsmanager:") or a == "*" for a in actions):
                found.append(json.dumps(st["Resource"]))
    return found
for fn, secret in own_secret.items():
    lam = resources[f"{fn[0].upper()}{fn[1:]}LambdaFunction"]["Properties"]
    role = lam["Role"]["Fn::GetAtt"][0]
    arns = secret_arns(role)
    named = {k: v for k, v in lam.get("Environment", {}).get("Variables", {}).items() if k in secret_vars}
    if secret is None:
        if arns or named:
            problems.append(f"the {fn} function reads no secret: its role may read none ({arns}), its environment name none ({named})")
        continue
    if len(arns) != 1 or f"/{secret}-??????" not in arns[0]:
        problems.append(f"the {fn} function's role must read exactly its own secret (.../{secret}), not {arns}")
    if len(named) != 1 or not str(list(named.values())[0]).endswith(f"/{secret}"):
        problems.append(f"the {fn} function's environment must name exactly its own secret, not {named}")
groups = {json.dumps(r["Properties"]["PrincipalArn"]): r["Properties"]["KubernetesGroups"]
          for r in resources.values() if r["Type"] == "AWS::EKS::AccessEntry"}
want = {"WorkerRole": ["prenv-bot"], "JanitorRole": ["prenv-bot"], "KubeconfigRole": ["prenv-kubeconfig"]}
for role, g in want.items():
    if groups.get(json.dumps({"Fn::GetAtt": [role, "Arn"]})) != g:
        problems.append(f"the EKS access entry of {role} must map it to {g}")
if len(groups) != len(want):
    problems.append("only the worker, janitor and kubeconfig roles get EKS access entries (not the webhook's)")

hbs = sorted(f"templates/{f}" for f in os.listdir(templates_dir) if f.endswith(".hbs"))
print(f"{'function':<10} {'zip':>10} {'unzipped':>10}  contents")
for fn in functions:
    path = os.path.join(out_dir, f"{fn}.zip")
    if not os.path.isfile(path):
        problems.append(f"{path} was not produced")
        continue
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        unzipped = sum(i.file_size for i in z.infolist())
    entry = f"src/lambda/{fn}.mjs"
    if entry not in names:
        problems.append(f"{fn}.zip lacks its bundle {entry}")
    missing = [t for t in hbs if t not in names]
    if missing:
        problems.append(f"{fn}.zip lacks {', '.join(missing)}")
    if any(n.startswith("node_modules/") for n in names):
        problems.append(f"{fn}.zip ships node_modules/ (everything should be bundled)")
    kib = lambda n: f"{n / 1024:.0f} KiB"
    print(f"{fn:<10} {kib(os.path.getsize(path)):>10} {kib(unzipped):>10}  {len(names)} files")

# The render layer: the worker's only, arm64 executables at bin/, within Lambda's size limit.
layers = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::LayerVersion"}
if list(layers) != ["RenderToolsLambdaLayer"]:
    problems.append(f"expected one layer, RenderToolsLambdaLayer, found {sorted(layers)}")
for key, r in resources.items():
    if r["Type"] != "AWS::Lambda::Function":
        continue
    refs = [l.get("Ref") for l in r["Properties"].get("Layers", [])]
    if (key == "WorkerLambdaFunction") != (refs == ["RenderToolsLambdaLayer"]):
        problems.append(f"{key} layers {refs}: only the worker carries the render layer")
if worker_env.get("PRENV_RENDER_TOOLS") != "/opt/bin":
    problems.append("the worker's PRENV_RENDER_TOOLS must be /opt/bin, where its layer puts helm and kustomize")
with zipfile.ZipFile(layer_zip) as z:
    infos = {i.filename: i for i in z.infolist()}
    layer_unzipped = sum(i.file_size for i in infos.values())
    for tool in ("bin/helm", "bin/kustomize"):
        info = infos.get(tool)
        if info is None:
            problems.append(f"the render layer lacks {tool}")
            continue
        head = z.open(info).read(20)
        # ELF, 64-bit, little-endian, e_machine 183 = AArch64
        if head[:4] != b"\x7fELF" or head[18:20] != (183).to_bytes(2, "little"):
            problems.append(f"{tool} in the render layer is not a linux/arm64 executable")
        if not (info.external_attr >> 16) & 0o111:
            problems.append(f"{tool} in the render layer is not executable")
worker_zip = os.path.join(out_dir, "worker.zip")
if os.path.isfile(worker_zip):
    with zipfile.ZipFile(worker_zip) as z:
        worker_unzipped = sum(i.file_size for i in z.infolist())
    total = worker_unzipped + layer_unzipped
    if total > 250 * 1000 * 1000:
        problems.append(f"worker and its layer unzip to {total} bytes, over Lambda's 250 MB")
    print(f"{'render layer':<10} {os.path.getsize(layer_zip) / 1024:>6.0f} KiB {layer_unzipped / 1024:>6.0f} KiB  {len(infos)} files (worker + layer unzipped: {total / 1e6:.0f} MB of 250 MB)")

if problems:
    print("package-check: " + "\n package-check: ".join(problems), file=sys.stderr)
    sys.exit(1)
print("invariants: OK")
PY

# --- 5. each bundle loads from its unzipped package --------------------------------------------------
step "loading each bundle as the Lambda runtime would"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for fn in "${FUNCTIONS[@]}"; do
  "$cfn_lint_dir/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    ".serverless/$fn.zip" "$scratch/$fn"
  (
    cd "$scratch/$fn"
    "${no_aws[@]}" AWS_REGION="$REGION" NODE_NO_WARNINGS=1 timeout 60 node --enable-source-maps --input-type=module -e "
      const m = await import('./src/lambda/$fn.mjs');
      if (typeof m.handler !== 'function') throw new Error('src/lambda/$fn.mjs exports no handler function');
      console.log('$fn: handler loads');
    "
  ) || die "the $fn bundle does not load (see the error above)"
done
echo
printf "package-check: OK (stage %s, region %s)\n" "$STAGE" "$REGION"
