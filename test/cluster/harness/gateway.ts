// The test world's Gateway API data plane (ADR 11): the Gateway API CRDs (standard channel, the
// release the data plane is built against) on the control plane, and Traefik Proxy with its
// Kubernetes Gateway provider as a pod on the test node, reading GatewayClass, Gateway, HTTPRoute
// and TLSRoute from the API server and proxying to the PRs' pods. The operator's part is played
// here: a namespace for the data plane, the GatewayClass, a wildcard certificate for the preview
// domain (signed by a CA of the run) and the shared Gateway prenv's routes attach to, with an
// HTTPS listener for `*.<base domain>` and a TLS passthrough listener for `*.api.<base domain>`,
// both admitting routes only from namespaces labelled app.kubernetes.io/managed-by=prenv.
// The Gateway's port is a NodePort of the node: the host reaches it at <node IP>:<port>.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";
import { applyObjects } from "./apply.js";
import { repoRoot } from "./controlplane.js";
import { importImage, type NodeInfo } from "./node.js";

export const GATEWAY_NAMESPACE = "prenv-gateway";
export const GATEWAY_NAME = "prenv";
export const GATEWAY_CLASS = "prenv-test";
/** The Gateway's port inside the data plane pod (the listeners' port) and on the node. */
export const LISTENER_PORT = 8443;
export const NODE_PORT = 30443;
const CONTROLLER = "traefik.io/gateway-controller";

/** What tests need to reach previews through the data plane (serialisable: handed to test files). */
export interface DataPlaneInfo {
  /** host:port of the Gateway on the node, as the host reaches it. */
  address: string;
  gateway: { namespace: string; name: string };
  baseDomain: string;
  /** PEM of the CA that signed the Gateway's wildcard certificate (and tlsecho's, in tests). */
  caPem: string;
  /** Files of that CA, to issue more certificates in a test. */
  caDir: string;
  images: Record<string, string>;
  versions: Record<string, string>;
}

/** Builds (or finds cached) the data plane; returns the cache directory. */
export function ensureGatewayBuild(log: (line: string) => void = () => {}): string {
  const started = Date.now();
  const out = execFileSync("bash", [join(repoRoot, "test/cluster/gateway/build.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const dir = out.trim().split("\n").at(-1) ?? "";
  if (!existsSync(join(dir, "complete"))) throw new Error(`gateway/build.sh did not finish in '${dir}'`);
  log(`Gateway API data plane ready in ${dir} (${Date.now() - started} ms)`);
  return dir;
}

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** Installs the Gateway API CRDs of the build and waits until they are served. */
export async function installGatewayCrds(admin: KubeConfig, buildDir: string): Promise<void> {
  const dir = join(buildDir, "crds");
  const objects = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS() as Obj | null))
    .filter((o): o is Obj => o !== null);
  await applyObjects(admin, objects);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const raw = new RawKube(admin); // a fresh discovery cache each time
    try {
      await raw.resource("gateway.networking.k8s.io/v1", "TLSRoute");
      await raw.resource("gateway.networking.k8s.io/v1", "HTTPRoute");
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error("the Gateway API CRDs were not served within 60 s", { cause: err });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA of the run, in `dir` (ca.crt, ca.key). */
function makeCa(dir: string): void {
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=prenv test gateway CA",
    ]),
    dir,
  );
}

/** A serving certificate for `names` (DNS SANs) signed by the CA in `caDir`: PEM cert and key. */
export function issueServing(caDir: string, names: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "prenv-gw-cert-"));
  try {
    writeFileSync(join(dir, "ext"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
    openssl(
      ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
        "-subj",
        `/CN=${names[0]}`,
      ]),
      dir,
    );
    openssl(
      ["x509", "-req", "-in", "tls.csr", "-CA", join(caDir, "ca.crt"), "-CAkey", join(caDir, "ca.key")]
        .concat(["-CAcreateserial", "-CAserial", join(dir, "ca.srl"), "-days", "2", "-out", "tls.crt"])
        .concat(["-extfile", "ext"]),
      dir,
    );
    return {
      cert: readFileSync(join(dir, "tls.crt"), "utf8"),
      key: readFileSync(join(dir, "tls.key"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The operator's part: the data plane's namespace, RBAC, GatewayClass, certificate and Gateway. */
function operatorObjects(image: string, baseDomain: string, tls: { cert: string; key: string }): object[] {
  const meta = (name: string) => ({ name, namespace: GATEWAY_NAMESPACE });
  const prenvNamespaces = {
    from: "Selector",
    selector: { matchLabels: { "app.kubernetes.io/managed-by": "prenv" } },
  };
  const group = "gateway.networking.k8s.io";
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: GATEWAY_NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta("traefik") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "prenv-test-traefik" },
      rules: [
        {
          apiGroups: [""],
          resources: ["namespaces", "services", "secrets", "configmaps", "nodes"],
          verbs: ["get", "list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        { apiGroups: [group], resources: ["*"], verbs: ["get", "list", "watch"] },
        { apiGroups: [group], resources: ["*/status"], verbs: ["update", "patch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "prenv-test-traefik" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prenv-test-traefik" },
      subjects: [{ kind: "ServiceAccount", name: "traefik", namespace: GATEWAY_NAMESPACE }],
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("preview-wildcard"),
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(tls.cert), "tls.key": b64(tls.key) },
    },
    {
      apiVersion: `${group}/v1`,
      kind: "GatewayClass",
      metadata: { name: GATEWAY_CLASS },
      spec: { controllerName: CONTROLLER },
    },
    {
      apiVersion: `${group}/v1`,
      kind: "Gateway",
      metadata: meta(GATEWAY_NAME),
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [
          {
            name: "previews",
            protocol: "HTTPS",
            port: LISTENER_PORT,
            hostname: `*.${baseDomain}`,
            tls: { mode: "Terminate", certificateRefs: [{ name: "preview-wildcard" }] },
            allowedRoutes: { namespaces: prenvNamespaces, kinds: [{ group, kind: "HTTPRoute" }] },
          },
          {
            name: "vcluster-apis",
            protocol: "TLS",
            port: LISTENER_PORT,
            hostname: `*.api.${baseDomain}`,
            tls: { mode: "Passthrough" },
            allowedRoutes: { namespaces: prenvNamespaces, kinds: [{ group, kind: "TLSRoute" }] },
          },
        ],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("traefik"),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "traefik" } },
        template: {
          metadata: { labels: { app: "traefik" } },
          spec: {
            serviceAccountName: "traefik",
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: "traefik",
                image,
                imagePullPolicy: "IfNotPresent",
                args: [
                  "--providers.kubernetesgateway=true",
                  "--providers.kubernetesgateway.throttleDuration=0s",
                  `--entryPoints.websecure.address=:${LISTENER_PORT}`,
                  "--entryPoints.traefik.address=:9000",
                  "--ping=true",
                  "--ping.entryPoint=traefik",
                  "--log.level=INFO",
                ],
                ports: [{ containerPort: LISTENER_PORT }, { containerPort: 9000 }],
                readinessProbe: { httpGet: { path: "/ping", port: 9000 }, periodSeconds: 1 },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("traefik"),
      spec: {
        type: "NodePort",
        selector: { app: "traefik" },
        ports: [{ name: "websecure", port: LISTENER_PORT, targetPort: LISTENER_PORT, nodePort: NODE_PORT }],
      },
    },
  ];
}

/**
 * Starts the data plane on the node (images imported, operator objects applied) and waits until
 * the Gateway is programmed and its pod ready. `runDir` keeps the run's CA.
 */
export async function startDataPlane(o: {
  admin: KubeConfig;
  node: NodeInfo;
  buildDir: string;
  runDir: string;
  baseDomain?: string;
  log?: (line: string) => void;
}): Promise<DataPlaneInfo> {
  const started = Date.now();
  const baseDomain = o.baseDomain ?? "preview.test";
  const images = JSON.parse(readFileSync(join(o.buildDir, "images.json"), "utf8")) as Record<string, string>;
  for (const name of Object.keys(images)) importImage(o.node, join(o.buildDir, "images", `${name}.tar`));
  const caDir = join(o.runDir, "gateway-ca");
  execFileSync("mkdir", ["-p", caDir]);
  makeCa(caDir);
  const tls = issueServing(caDir, [`*.${baseDomain}`]);
  await applyObjects(o.admin, operatorObjects(images.traefik!, baseDomain, tls));
  await waitProgrammed(o.admin);
  const info: DataPlaneInfo = {
    address: `${o.node.nodeIP}:${NODE_PORT}`,
    gateway: { namespace: GATEWAY_NAMESPACE, name: GATEWAY_NAME },
    baseDomain,
    caPem: readFileSync(join(caDir, "ca.crt"), "utf8"),
    caDir,
    images,
    versions: JSON.parse(readFileSync(join(o.buildDir, "versions.json"), "utf8")) as Record<string, string>,
  };
  o.log?.(
    `Gateway ${GATEWAY_NAMESPACE}/${GATEWAY_NAME} programmed by Traefik ${info.versions.traefik} at ${info.address} (${Date.now() - started} ms)`,
  );
  return info;
}

async function waitProgrammed(admin: KubeConfig): Promise<void> {
  const raw = new RawKube(admin);
  const apps = admin.makeApiClient(AppsV1Api);
  const deadline = Date.now() + 90_000;
  let last = "";
  for (;;) {
    const d = await apps.readNamespacedDeployment({ name: "traefik", namespace: GATEWAY_NAMESPACE });
    const gw = (await raw.request(
      "GET",
      `/apis/gateway.networking.k8s.io/v1/namespaces/${GATEWAY_NAMESPACE}/gateways/${GATEWAY_NAME}`,
    )) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
    const programmed = gw.status?.conditions?.find((c) => c.type === "Programmed");
    last = `pod ready ${d.status?.readyReplicas ?? 0}/1, Gateway Programmed=${programmed?.status ?? "?"} ${programmed?.message ?? ""}`;
    if (d.status?.readyReplicas === 1 && programmed?.status === "True") return;
    if (Date.now() > deadline) {
      const pods = await admin
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: GATEWAY_NAMESPACE, labelSelector: "app=traefik" });
      const states = pods.items.map((p) =>
        JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? p.status?.phase),
      );
      throw new Error(`the data plane did not come up within 90 s: ${last}; pods: ${states.join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** prenv's operator settings for this Gateway: the production defaults (routing: gateway, ready when the URL answers). */
export function gatewaySettings(
  dp: DataPlaneInfo,
  more: Record<string, string> = {},
): Record<string, string> {
  return {
    PRENV_ROUTING: "gateway",
    PRENV_READY_CHECK: "url",
    PRENV_READY_TIMEOUT_SECONDS: "30",
    PRENV_GATEWAY_NAMESPACE: dp.gateway.namespace,
    PRENV_GATEWAY_NAME: dp.gateway.name,
    PRENV_GATEWAY_ADDRESS: dp.address,
    PRENV_INGRESS_NAMESPACE: dp.gateway.namespace,
    ...more,
  };
}

export interface Answer {
  /** HTTP status, or 0 when there was none (connection refused, TLS failure...). */
  status: number;
  body: string;
  /** curl's error when there was no answer. */
  error: string;
}

/**
 * `curl https://<host>/<path>` through the data plane, as a browser would reach the preview: the
 * host resolved to the Gateway's address (--resolve), the certificate checked against the run's CA.
 */
export function viaGateway(
  dp: Pick<DataPlaneInfo, "address" | "caDir">,
  host: string,
  path = "/",
  maxSeconds = 10,
): Answer {
  const [ip, port] = dp.address.split(":");
  const r = spawnSync(
    "curl",
    [
      "-sS",
      "--max-time",
      String(maxSeconds),
      "--cacert",
      join(dp.caDir, "ca.crt"),
      "--resolve",
      `${host}:${port}:${ip}`,
    ].concat(["-w", "\n%{http_code}", `https://${host}:${port}${path}`]),
    { encoding: "utf8" },
  );
  const out = r.stdout ?? "";
  const i = out.lastIndexOf("\n");
  return {
    status: Number(out.slice(i + 1)) || 0,
    body: out.slice(0, Math.max(0, i)),
    error: (r.stderr ?? "").trim(),
  };
}
