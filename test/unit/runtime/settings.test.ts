import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../../src/runtime/settings.js";

describe("operator settings for virtual clusters and kubeconfigs", () => {
  it("defaults: pinned images, API hosts under api.<base domain>, no persistence, 1h kubeconfigs, at most 8h", () => {
    const s = loadSettings({ PRENV_BASE_DOMAIN: "preview.example.com" }).environment;
    expect(s.vcluster).toEqual({
      image: "ghcr.io/loft-sh/vcluster-oss:0.36.1",
      kubernetesImage: "ghcr.io/loft-sh/kubernetes:v1.34.4",
      apiDomain: "api.preview.example.com",
      apiAddress: null,
      persistence: null,
      cpu: "1",
      memory: "1Gi",
      readyTimeoutMs: 240_000,
    });
    expect(s.access).toEqual({
      publicUrl: null,
      defaultTtlMs: 3600_000,
      maxTtlMs: 8 * 3600_000,
      hostServer: null,
    });
  });

  it("takes what the operator sets", () => {
    const s = loadSettings({
      PRENV_VCLUSTER_API_DOMAIN: "vc.example.com",
      PRENV_VCLUSTER_API_ADDRESS: "ingress.internal:443",
      PRENV_VCLUSTER_PERSISTENCE: "5Gi",
      PRENV_PUBLIC_URL: "https://prenv.example.com/",
      PRENV_KUBECONFIG_TTL: "30m",
      PRENV_KUBECONFIG_SERVER: "https://k8s.example.com",
    }).environment;
    expect(s.vcluster).toMatchObject({
      apiDomain: "vc.example.com",
      apiAddress: "ingress.internal:443",
      persistence: "5Gi",
    });
    expect(s.access).toMatchObject({ publicUrl: "https://prenv.example.com", defaultTtlMs: 1800_000 });
  });

  it("finds GitHub's API and web host (the device flow's) for github.com, GitHub Enterprise Server and GHE.com", () => {
    const urls = (env: Record<string, string>) => loadSettings(env).github;
    expect(urls({})).toEqual({ apiUrl: "https://api.github.com", webUrl: "https://github.com" });
    expect(urls({ GHE_HOST: "ghe.example.com" })).toEqual({
      apiUrl: "https://ghe.example.com/api/v3",
      webUrl: "https://ghe.example.com",
    });
    expect(urls({ PRENV_GITHUB_API_URL: "https://api.acme.ghe.com/" })).toEqual({
      apiUrl: "https://api.acme.ghe.com",
      webUrl: "https://acme.ghe.com",
    });
    expect(
      urls({ PRENV_GITHUB_API_URL: "http://127.0.0.1:1", PRENV_GITHUB_WEB_URL: "http://127.0.0.1:2" }),
    ).toEqual({
      apiUrl: "http://127.0.0.1:1",
      webUrl: "http://127.0.0.1:2",
    });
  });

  it("gives the kubeconfig endpoint its own kubeconfig context when one is named", () => {
    expect(loadSettings({ KUBE_CONTEXT: "prenv-bot" }).accessKubeContext).toBe("prenv-bot");
    expect(
      loadSettings({ KUBE_CONTEXT: "prenv-bot", PRENV_ACCESS_KUBE_CONTEXT: "prenv-kubeconfig" })
        .accessKubeContext,
    ).toBe("prenv-kubeconfig");
  });

  it.each([
    [{ PRENV_GITHUB_API_URL: "api.github.com" }, "PRENV_GITHUB_API_URL"],
    [{ PRENV_VCLUSTER_API_ADDRESS: "https://ingress" }, "PRENV_VCLUSTER_API_ADDRESS"],
    [{ PRENV_VCLUSTER_PERSISTENCE: "yes" }, "PRENV_VCLUSTER_PERSISTENCE"],
    [{ PRENV_VCLUSTER_IMAGE: "not an image" }, "PRENV_VCLUSTER_IMAGE"],
    [{ PRENV_PUBLIC_URL: "prenv.example.com" }, "PRENV_PUBLIC_URL"],
    [{ PRENV_KUBECONFIG_TTL: "5m" }, "at least 10m"],
    [{ PRENV_KUBECONFIG_TTL: "2d" }, "must not be longer than PRENV_KUBECONFIG_MAX_TTL"],
    [{ PRENV_KUBECONFIG_SERVER: "http://k8s" }, "PRENV_KUBECONFIG_SERVER"],
    [
      { PRENV_VCLUSTER_API_DOMAIN: `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.example.com` },
      "PRENV_VCLUSTER_API_DOMAIN: must be at most 189 characters",
    ],
  ])("refuses %j, naming the variable", (env, says) => {
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(says);
  });
});

describe("loadSettings: operator limits", () => {
  it("refuses waits that cannot fit in the worker's timeout, naming the settings; rollouts are not waited for in a job", () => {
    expect(() =>
      loadSettings({ PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: "600", PRENV_JOB_TIMEOUT_SECONDS: "600" }),
    ).toThrow(
      /PRENV_VCLUSTER_READY_TIMEOUT_SECONDS \(600\) \+ PRENV_READY_TIMEOUT_SECONDS \(60\) \+ 60 s must fit in the worker's timeout PRENV_JOB_TIMEOUT_SECONDS \(600\)/,
    );
    // The defaults (240 + 60 + 60 s) fit; without the URL check its wait does not count.
    expect(() => loadSettings({ PRENV_JOB_TIMEOUT_SECONDS: "360" })).not.toThrow();
    expect(() => loadSettings({ PRENV_JOB_TIMEOUT_SECONDS: "359" })).toThrow(
      /PRENV_READY_TIMEOUT_SECONDS \(60\)/,
    );
    expect(() =>
      loadSettings({ PRENV_JOB_TIMEOUT_SECONDS: "359", PRENV_READY_CHECK: "rollout" }),
    ).not.toThrow();
    expect(() =>
      loadSettings({ PRENV_ROLLOUT_TIMEOUT_SECONDS: "1800", PRENV_JOB_TIMEOUT_SECONDS: "600" }),
    ).not.toThrow();
    expect(loadSettings({}).environment).toMatchObject({
      rolloutTimeoutMs: 300_000,
      rolloutCheckMaxMs: 20_000,
    });
  });

  it("routing: gateway by default, on the Gateway prenv-gateway/prenv, ready when the URL answers", () => {
    expect(loadSettings({}).environment.routing).toEqual({
      mode: "gateway",
      gateway: { namespace: "prenv-gateway", name: "prenv" },
      address: null,
      readyCheck: "url",
      readyTimeoutMs: 60_000,
      apiIngressAnnotations: {},
    });
    const custom = loadSettings({
      PRENV_ROUTING: "ingress",
      PRENV_GATEWAY_ADDRESS: "gw.internal:8443",
      PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS: "example.com/passthrough=true,example.com/backend=https",
    }).environment.routing;
    expect(custom).toMatchObject({
      mode: "ingress",
      address: "gw.internal:8443",
      apiIngressAnnotations: { "example.com/passthrough": "true", "example.com/backend": "https" },
    });
    expect(() => loadSettings({ PRENV_ROUTING: "nginx" })).toThrow(/PRENV_ROUTING/);
    expect(() => loadSettings({ PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS: "no-value" })).toThrow(
      /PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS: must be key=value pairs/,
    );
  });

  it("has defaults for the quota ceilings, object counts and egress, and reads lists", () => {
    const env = loadSettings({
      PRENV_EGRESS_DENY_CIDRS: "10.0.0.0/8, fd00::/8",
      PRENV_DNS_POD_LABELS: "a=b,c=d",
    }).environment;
    expect(env.ceilings).toEqual({ cpu: "8", memory: "16Gi", storage: "50Gi", pods: 50 });
    expect(env.objectQuota).toEqual({
      configMaps: 100,
      secrets: 100,
      services: 30,
      persistentVolumeClaims: 10,
    });
    expect(env.egressDeny).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(env.dns.podLabels).toEqual({ a: "b", c: "d" });
    expect(loadSettings({}).environment.egressDeny).toContain("169.254.0.0/16");
    expect(() => loadSettings({ PRENV_EGRESS_DENY_CIDRS: "10.0.0.0" })).toThrow(/PRENV_EGRESS_DENY_CIDRS/);
    expect(() => loadSettings({ PRENV_POD_SECURITY_VERSION: "latest" })).toThrow(
      /minor version such as v1.34/,
    );
  });
});

describe("loadSettings: one parse for every entry point", () => {
  it("reads the App, AWS and server settings once, with one name each", () => {
    const s = loadSettings({
      APP_ID: "12345",
      PRIVATE_KEY_PATH: "app.pem",
      WEBHOOK_SECRET: "s",
      PRENV_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/prenv-jobs.fifo",
      PRENV_SECRET_ID: "prenv/app",
      PRENV_EKS_CLUSTER: "previews",
      AWS_REGION: "eu-west-1",
      PRENV_MAX_RECEIVE_COUNT: "3",
      PORT: "8080",
    });
    expect(s.appId).toBe(12345);
    expect(s.credentials).toMatchObject({ privateKeyPath: "app.pem", webhookSecret: "s" });
    expect(s.aws).toMatchObject({
      region: "eu-west-1",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/prenv-jobs.fifo",
      secretIds: { app: "prenv/app", webhook: undefined, kubeconfig: undefined },
      eksCluster: "previews",
      maxReceiveCount: 3,
    });
    expect(s.server.port).toBe(8080);
  });

  it("GitHub's API URL is the same for every entry: PRENV_GITHUB_API_URL, or Probot's GHE_HOST", async () => {
    const { probotOptions } = await import("../../../src/runtime/root/github.js");
    const { pino } = await import("pino");
    const app = { appId: 1, privateKey: "k" };
    const log = pino({ level: "silent" });
    expect(
      probotOptions(loadSettings({ PRENV_GITHUB_API_URL: "https://ghe.example.com/api/v3" }), app, log)
        .baseUrl,
    ).toBe("https://ghe.example.com/api/v3");
    expect(probotOptions(loadSettings({ GHE_HOST: "ghe.example.com" }), app, log).baseUrl).toBe(
      "https://ghe.example.com/api/v3",
    );
  });

  it.each<[Record<string, string>, string]>([
    [{ APP_ID: "abc" }, "APP_ID: must be the GitHub App's numeric id"],
    [{ PRENV_MAX_RECEIVE_COUNT: "0" }, "PRENV_MAX_RECEIVE_COUNT"],
    [{ PRENV_QUEUE_URL: "queue" }, "PRENV_QUEUE_URL: must be the SQS FIFO queue URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("refuses %j, naming the variable", (env, says) => {
    expect(() => loadSettings(env)).toThrow(says);
  });
});
