import { describe, expect, it } from "vitest";
import { loadSettings, SettingsError } from "../../../src/runtime/settings.js";

describe("operator settings for virtual clusters and kubeconfigs", () => {
  it("defaults: pinned images, API hosts under api.<base domain>, no persistence, 1h kubeconfigs", () => {
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
      maxTtlMs: 12 * 3600_000,
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

  it.each([
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
