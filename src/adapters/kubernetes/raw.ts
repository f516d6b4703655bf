// Raw JSON requests to the API server with the kubeconfig's credentials. Server-side apply must
// send objects exactly as written: client-node's KubernetesObjectApi serialises known kinds
// through its typed models, which silently drops fields it does not know (LimitRange `default`
// for one, and every field newer than the library).
//
// Credentials come from client-node as its generated clients get them (headers and an undici
// Dispatcher on a RequestContext: tokens made per request, such as EKS tokens, and impersonation
// stay the kubeconfig's business). The Dispatcher of the first request is kept and shared by every
// RawKube of one Connection: the bot's requests and those it makes as a tenant differ only in
// their headers, so they share kept-alive TLS connections instead of a handshake per request.
import { ApiException, RequestContext, type KubeConfig } from "@kubernetes/client-node";
import { request as send, type Dispatcher } from "undici";
import type { KubeObject } from "../../manifests/objects.js";
import { PrenvError } from "../../errors.js";
import { retrying, typedPatchRefusal } from "./retry.js";

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
  dryRun?: boolean;
}

export interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

const MAX_BODY = 8 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/** apiVersion → its API resource list. Discovery answers alike for every identity, so clients of
 * one cluster may share one cache (see KubernetesCluster). */
export type DiscoveryCache = Map<string, Promise<ApiResourceList>>;

/**
 * What the clients of one API server with one TLS identity share: kept-alive connections, and
 * discovery. Only kubeconfigs that present the same client certificate (or none) may share one: a
 * connection made with the bot's certificate authenticates as the bot whatever token rides on it.
 */
export class Connection {
  private dispatcher: Dispatcher | undefined;

  /** `discovery` may be shared wider than the connection (it is alike for every identity). */
  constructor(readonly discovery: DiscoveryCache = new Map()) {}

  /** The first Dispatcher client-node made for this server is the one every request uses. */
  use(offered: Dispatcher | undefined): Dispatcher | undefined {
    this.dispatcher ??= offered;
    return this.dispatcher;
  }

  /** Closes the kept-alive connections (a new request opens them again). */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close();
  }
}

export class RawKube {
  constructor(
    private readonly kc: KubeConfig,
    private readonly connection: Connection = new Connection(),
  ) {}

  /** One request; transient failures are retried (retry.ts) unless `retry` is false. */
  request(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    opts: { body?: unknown; contentType?: string; retry?: boolean } = {},
  ): Promise<unknown> {
    return opts.retry === false
      ? this.send(method, path, opts)
      : retrying(() => this.send(method, path, opts));
  }

  private async send(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    opts: { body?: unknown; contentType?: string },
  ): Promise<unknown> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error("the kubeconfig's current context has no cluster server");
    const url = new URL(path, server);
    const ctx = new RequestContext(url.toString(), method);
    await this.kc.applySecurityAuthentication(ctx);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: "application/json" };
    if (payload) headers["content-type"] = opts.contentType ?? "application/json";
    const dispatcher = this.connection.use(ctx.getDispatcher());
    const res = await send(url, {
      method,
      headers,
      ...(payload ? { body: payload } : {}),
      ...(dispatcher ? { dispatcher } : {}),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        res.body.destroy();
        throw new Error(`response too large from ${method} ${url.pathname}`);
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // leave as text
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return body;
    // The answer's headers go with the error: retry.ts honours a Retry-After.
    const answered = Object.fromEntries(
      Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
    );
    throw new ApiException(
      res.statusCode,
      `HTTP ${res.statusCode} from ${method} ${url.pathname}`,
      body,
      answered,
    );
  }

  private groupPath(apiVersion: string): string {
    return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const { discovery } = this.connection;
    let list = discovery.get(apiVersion);
    if (!list) {
      list = this.request("GET", this.groupPath(apiVersion)) as Promise<ApiResourceList>;
      discovery.set(apiVersion, list);
      list.catch(() => discovery.delete(apiVersion));
    }
    let resources: ApiResourceList["resources"];
    try {
      resources = (await list).resources ?? [];
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) {
        throw new ApiException(
          404,
          "not served",
          { message: `apiVersion ${apiVersion} is not served by this cluster` },
          {},
        );
      }
      throw err;
    }
    const r = resources.find((x) => x.kind === kind && !x.name.includes("/"));
    if (!r)
      throw new ApiException(
        404,
        "not served",
        { message: `kind ${kind} is not served by this cluster under apiVersion ${apiVersion}` },
        {},
      );
    return { plural: r.name, namespaced: r.namespaced };
  }

  async objectPath(apiVersion: string, kind: string, name: string, namespace?: string): Promise<string> {
    const info = await this.resource(apiVersion, kind);
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${this.groupPath(apiVersion)}${ns}/${info.plural}/${encodeURIComponent(name)}`;
  }

  /** Server-side apply of `obj` exactly as given. */
  async apply(
    obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
    opts: ApplyOptions,
  ): Promise<unknown> {
    const path = await this.objectPath(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
    const q = new URLSearchParams({ fieldManager: opts.fieldManager, force: String(opts.force) });
    if (opts.dryRun) q.set("dryRun", "All");
    return this.request("PATCH", `${path}?${q.toString()}`, {
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
  }

  async delete(ref: { apiVersion: string; kind: string; name: string }, namespace?: string): Promise<void> {
    const path = await this.objectPath(ref.apiVersion, ref.kind, ref.name, namespace);
    await this.request("DELETE", path, {
      body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" },
    });
  }
}

/**
 * How many requests of one apply are in flight at once. They share one HTTP/2 connection; 16 keeps
 * a 30-object environment at two rounds per phase, and the worker's concurrency of 5 at 80 in
 * flight, within the API server's default of 200 mutating requests.
 */
export const APPLY_CONCURRENCY = 16;

/**
 * Applies `objects` with `one`, up to APPLY_CONCURRENCY at a time (they are of one wave: none needs
 * another to exist first; see src/environment/apply.ts). Refusals (4xx, and the 500 with which
 * server-side apply refuses an object it cannot type) are collected: a dry run
 * checks every object, a real apply starts no more once one is refused; then one MANIFEST_INVALID
 * names them all, in the objects' order, starting with `how.who` ("The cluster"). Other failures
 * go through `translate` (`what` names the object, and `how.where` where it is). Results are in the
 * objects' order.
 */
export async function applyEach<T>(
  objects: KubeObject[],
  how: { dryRun: boolean; who: string; where?: string },
  one: (o: KubeObject) => Promise<T>,
  translate: (err: unknown, what: string) => PrenvError,
): Promise<T[]> {
  const { dryRun, who, where = "" } = how;
  const done: T[] = [];
  const refused: { index: number; text: string }[] = [];
  let failure: PrenvError | undefined;
  await bounded(
    objects,
    async (o, index) => {
      try {
        done[index] = await one(o);
      } catch (err) {
        if (err instanceof ApiException && ((err.code >= 400 && err.code < 500) || typedPatchRefusal(err))) {
          refused.push({ index, text: `${o.kind}/${o.metadata.name}: ${refusalMessage(err)}` });
        } else {
          failure ??= translate(err, `apply ${o.kind}/${o.metadata.name}${where}`);
        }
      }
    },
    () => failure !== undefined || (!dryRun && refused.length > 0),
  );
  if (failure) throw failure;
  if (refused.length > 0) {
    const texts = refused.sort((a, b) => a.index - b.index).map((r) => r.text);
    throw new PrenvError("MANIFEST_INVALID", `${who} refused ${texts.length} object(s): ${texts.join("; ")}`);
  }
  return done;
}

/**
 * Runs `fn` on every item, APPLY_CONCURRENCY at a time, in the items' order; once `stop()` is true
 * no further item is started (those in flight finish).
 */
export async function bounded<T>(
  items: readonly T[],
  fn: (item: T, index: number) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stop() && next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, items.length) }, worker));
}

/**
 * Why the API server refused an object. Server-side apply words a schema mismatch for Go readers
 * ("failed to create typed patch object (/x; /v1, Kind=ConfigMap): .data.enabled: expected
 * string, got &value.valueUnstructured{Value:true}"): that is said as the field and the problem.
 */
function refusalMessage(err: ApiException<unknown>): string {
  const message = statusMessage(err);
  if (!typedPatchRefusal(err)) return message;
  const detail = message
    .replace(/^failed to create typed (?:patch|live) object \([^)]*\): /, "")
    .replace(/&value\.valueUnstructured\{Value:(.*?)\}/g, "$1");
  return `${detail} (the object does not fit its kind's schema)`;
}

/** The message of a Kubernetes Status in an API error, else the start of its body. */
export function statusMessage(err: ApiException<unknown>): string {
  const body = err.body;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}
