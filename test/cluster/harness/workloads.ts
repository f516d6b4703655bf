// Workloads on the test node and ways to look at them: the manifests a PR deploys (images built
// and imported by node.ts), exec/logs/port-forward through the API server (the kubelet's real
// paths), and what the node itself holds (containers, pod interfaces).
import {
  CoreV1Api,
  Exec,
  PortForward,
  type KubeConfig,
  type V1Pod,
  type V1Status,
} from "@kubernetes/client-node";
import { createServer, type AddressInfo, type Server } from "node:net";
import { PassThrough, Writable } from "node:stream";
import { ctr, inNode, type NodeInfo } from "./node.js";

const restrictedPod = "securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }";
const restrictedContainer =
  "securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }";

export interface AppOptions {
  name?: string;
  image: string;
  replicas?: number;
  /** A readiness probe on /healthz/ready (default true). */
  readiness?: boolean;
  /** Extra environment (values are Handlebars templates of the PR's manifests). */
  env?: Record<string, string>;
  memoryLimit?: string;
  cpuRequest?: string;
  /** No Service (for programs that do not serve). */
  noService?: boolean;
  /** Seconds a new pod must stay ready before it counts as available (the Deployment's minReadySeconds). */
  minReadySeconds?: number;
}

/**
 * A Deployment (and Service on 8080) as a PR would write it, runnable under Pod Security
 * `restricted`. Its pods answer with the PR's commit: COMMIT is `{{sha}}`.
 */
export function app(o: AppOptions): string {
  const name = o.name ?? "web";
  const env = { COMMIT: "{{sha}}", NAME: name, APP_PR: "{{pr}}", ...o.env };
  const resources: string[] = [];
  if (o.cpuRequest) resources.push(`requests: { cpu: "${o.cpuRequest}" }`);
  if (o.memoryLimit) resources.push(`limits: { memory: "${o.memoryLimit}" }`);
  const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${o.replicas ?? 1}
${o.minReadySeconds ? `  minReadySeconds: ${o.minReadySeconds}\n` : ""}  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      ${restrictedPod}
      terminationGracePeriodSeconds: 2
      containers:
        - name: ${name}
          image: "${o.image}"
          imagePullPolicy: IfNotPresent
          ports: [{ containerPort: 8080 }]
          env:
${Object.entries(env)
  .map(([k, v]) => `            - { name: ${k}, value: "${v}" }`)
  .join("\n")}
${
  o.readiness === false
    ? ""
    : "          readinessProbe: { httpGet: { path: /healthz/ready, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }\n"
}${resources.length ? `          resources: { ${resources.join(", ")} }\n` : ""}          ${restrictedContainer}
`;
  if (o.noService) return deployment;
  return `${deployment}---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 8080, targetPort: 8080 }]
`;
}

export async function podsOf(kc: KubeConfig, namespace: string, app?: string): Promise<V1Pod[]> {
  const pods = await kc
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace, ...(app ? { labelSelector: `app=${app}` } : {}) });
  return pods.items;
}

export const isReady = (p: V1Pod) =>
  p.status?.phase === "Running" &&
  (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") &&
  !p.metadata?.deletionTimestamp;

/** The part of the exec WebSocket used here. */
interface Closable {
  on(event: "close", listener: () => void): void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit code (0 on success). */
  code: number;
}

/** Runs `command` in a pod's container through the API server (pods/exec) and the kubelet. */
export async function execIn(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  command: string[],
  container?: string,
): Promise<ExecResult> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  return new Promise<ExecResult>((resolve, reject) => {
    let status: V1Status | undefined;
    new Exec(kc)
      .exec(
        namespace,
        pod,
        container ?? "",
        command,
        sink((s) => (stdout += s)),
        sink((s) => (stderr += s)),
        null,
        false,
        (s) => {
          status = s;
        },
      )
      .then((ws: unknown) => {
        (ws as Closable).on("close", () => {
          if (!status)
            return reject(new Error(`exec in ${namespace}/${pod} ended without a status: ${stderr}`));
          const exit = status.details?.causes?.find((c) => c.reason === "ExitCode")?.message;
          resolve({ stdout, stderr, code: status.status === "Success" ? 0 : Number(exit ?? 1) });
        });
      }, reject);
  });
}

/**
 * One HTTP GET from inside a pod (a fresh connection each time): "status N\n<body>" on an
 * answer, "error ..." when the connection failed or was refused.
 */
export async function fetchFrom(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  url: string,
): Promise<string> {
  const r = await execIn(kc, namespace, pod, ["/testapp", "fetch", url, "2s"]);
  return r.stdout.trim() || r.stderr.trim();
}

/** A local TCP port forwarded to `port` of a pod (pods/portforward); close() when done. */
export async function portForward(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const forward = new PortForward(kc, true);
  const server: Server = createServer((socket) => {
    const errors = new PassThrough();
    errors.resume();
    forward.portForward(namespace, pod, [port], socket, errors, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Gives an imported image another name on the node (as a CI would push a tag per commit). */
export function tagImage(node: NodeInfo, image: string, tag: string): void {
  ctr(node, "images", "tag", "--force", image, tag);
}

/** IDs of the containers (sandboxes included) containerd holds for pods of `namespace`. */
export function nodeContainers(node: NodeInfo, namespace: string): string[] {
  return lines(
    ctr(node, "containers", "list", "--quiet", `labels."io.kubernetes.pod.namespace"==${namespace}`),
  );
}

/** The containers (sandboxes included) of pods of `namespace` that have a running process. */
export function nodeTasks(node: NodeInfo, namespace: string): string[] {
  const running = new Set(lines(ctr(node, "tasks", "list", "--quiet")));
  return nodeContainers(node, namespace).filter((id) => running.has(id));
}

const lines = (text: string) => text.split("\n").filter(Boolean);

/** The pods' network interfaces on the node (the host ends of their veth pairs). */
export function podInterfaces(node: NodeInfo): string[] {
  return inNode(node, ["ip", "-o", "link", "show", "type", "veth"])
    .split("\n")
    .map((l) => /^\d+: ([^@:]+)/.exec(l)?.[1])
    .filter((n): n is string => Boolean(n?.startsWith("veth")));
}

/** The pods' network namespaces on the node. */
export function podNetworkNamespaces(node: NodeInfo): string[] {
  return inNode(node, ["ls", "/run/netns"])
    .split("\n")
    .filter((n) => n.startsWith("cni-"));
}
