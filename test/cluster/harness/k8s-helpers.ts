// Small helpers for cluster-tier assertions.
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { expect } from "vitest";

/** Awaits `p`, expecting the API server to refuse it with HTTP `code`; returns the Status message
 * (or the raw body when it is not a Status). */
export async function expectApiError(p: Promise<unknown>, code: number): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === "string" ? err.body : JSON.stringify(err.body);
    expect(err.code, `expected HTTP ${code}, got ${err.code}: ${body}`).toBe(code);
    try {
      const status = JSON.parse(body) as { message?: unknown };
      return typeof status.message === "string" ? status.message : body;
    } catch {
      return body;
    }
  }
  throw new Error(`expected the API server to answer ${code}, but the request succeeded`);
}

/** Polls `probe` until it returns true or `timeoutMs` passes (real API state, not a fixed sleep). */
export async function eventually(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pods are admitted only once the namespace's `default` service account exists. */
export async function waitForDefaultServiceAccount(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await eventually(`default service account in ${namespace}`, 30_000, () =>
    core.readNamespacedServiceAccount({ name: "default", namespace }).then(
      () => true,
      () => false,
    ),
  );
}

/** An Ingress body with one rule: `host` to port 8080 of `service`, of the installation's class. */
export function ingressBody(
  name: string,
  host: string,
  service: string,
  annotations: Record<string, string> = {},
  ingressClassName = "nginx",
) {
  return {
    metadata: { name, annotations },
    spec: {
      ingressClassName,
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: service, port: { number: 8080 } } },
              },
            ],
          },
        },
      ],
    },
  };
}
