// Raw JSON requests to the API server with the kubeconfig's credentials. Server-side apply must
// send objects exactly as written: client-node's KubernetesObjectApi serialises known kinds
// through its typed models, which silently drops fields it does not know (LimitRange `default`
// for one, and every field newer than the library).
import { ApiException, type KubeConfig } from "@kubernetes/client-node";
import type { KubeObject } from "../../manifests/objects.js";
import { PrenvError } from "../../errors.js";
import type { OutgoingHttpHeaders } from "node:http";
import { request, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
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

/** apiVersion → its API resource list. Discovery answers alike for every identity, so clients of
 * one cluster may share one cache (see KubernetesCluster). */
export type DiscoveryCache = Map<string, Promise<ApiResourceList>>;

export class RawKube {
  constructor(
    private readonly kc: KubeConfig,
    private readonly discovery: DiscoveryCache = new Map(),
  ) {}

  /** One request; transient failures are retried (retry.ts) unless `retry` is false. */
  request(
    method: string,
    path: string,
    opts: { body?: unknown; contentType?: string; retry?: boolean } = {},
  ): Promise<unknown> {
    return opts.retry === false
      ? this.send(method, path, opts)
      : retrying(() => this.send(method, path, opts));
  }

  private async send(
    method: string,
    path: string,
    opts: { body?: unknown; contentType?: string },
  ): Promise<unknown> {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) throw new Error("the kubeconfig's current context has no cluster server");
    const url = new URL(path, server);
    const options: RequestOptions = { method, headers: {} };
    await this.kc.applyToHTTPSOptions(options);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: OutgoingHttpHeaders = {
      ...(options.headers as OutgoingHttpHeaders),
      accept: "application/json",
    };
    if (payload) {
      headers["content-type"] = opts.contentType ?? "application/json";
      headers["content-length"] = payload.length;
    }
    options.headers = headers;
    const send = url.protocol === "http:" ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error("response too large"));
          else chunks.push(c);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // leave as text
          }
          if (status >= 200 && status < 300) resolve(body);
          else
            reject(
              new ApiException(
                status,
                `HTTP ${status} from ${method} ${url.pathname}`,
                body,
                res.headers as Record<string, string>,
              ),
            );
        });
        res.on("error", reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error("request timed out")));
      req.on("error", reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  private groupPath(apiVersion: string): string {
    return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let list = this.discovery.get(apiVersion);
    if (!list) {
      list = this.request("GET", this.groupPath(apiVersion)) as Promise<ApiResourceList>;
      this.discovery.set(apiVersion, list);
      list.catch(() => this.discovery.delete(apiVersion));
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
 * Applies `objects` one by one with `one`. Refusals (4xx, and the 500 with which server-side apply
 * refuses an object it cannot type) are collected: a dry run checks every
 * object, a real apply stops at the first; then one MANIFEST_INVALID names them all, starting with
 * `how.who` ("The cluster"). Other failures go through `translate` (`what` names the object, and
 * `how.where` where it is).
 */
export async function applyEach<T>(
  objects: KubeObject[],
  how: { dryRun: boolean; who: string; where?: string },
  one: (o: KubeObject) => Promise<T>,
  translate: (err: unknown, what: string) => PrenvError,
): Promise<T[]> {
  const { dryRun, who, where = "" } = how;
  const done: T[] = [];
  const refused: string[] = [];
  for (const o of objects) {
    try {
      done.push(await one(o));
    } catch (err) {
      if (err instanceof ApiException && ((err.code >= 400 && err.code < 500) || typedPatchRefusal(err))) {
        refused.push(`${o.kind}/${o.metadata.name}: ${refusalMessage(err)}`);
        if (!dryRun) break;
        continue;
      }
      throw translate(err, `apply ${o.kind}/${o.metadata.name}${where}`);
    }
  }
  if (refused.length > 0) {
    throw new PrenvError(
      "MANIFEST_INVALID",
      `${who} refused ${refused.length} object(s): ${refused.join("; ")}`,
    );
  }
  return done;
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
