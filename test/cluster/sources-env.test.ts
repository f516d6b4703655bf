// Helm charts and Kustomize overlays end to end: the real Probot app and worker, the chart or
// overlay read from the GitHub stand-in at the PR's head commit (git trees and blobs), rendered by
// the pinned helm and kustomize the worker's layer carries, then the same pre-flight checks,
// impersonated apply, all-or-nothing dry run, prune and rollout on the real API server as plain
// manifests. Hostile sources stop with a message in the comment and nothing applied.
import { AppsV1Api, CoreV1Api, NetworkingV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { pullRequestPayload } from "../support/payloads.js";
import { renderToolsDir } from "../support/render-tools.js";
import { chart, overlay } from "../support/sources.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually } from "./harness/k8s-helpers.js";
import {
  SHA1,
  SHA2,
  cleanupRigs,
  configMaps,
  namespaceExists,
  push,
  setup,
  type Setup,
} from "./harness/pr-rig.js";

afterEach(cleanupRigs);

const toolsDir = renderToolsDir();

const HELM_CONFIG = `
isolation: namespace
deploy:
  image: registry.invalid/web:{{shortSha}}
  helm:
    chart: deploy/chart
    values: [deploy/values-preview.yaml]
    set: { replicas: 0, image.tag: "{{shortSha}}" }
url: { service: web, port: 8080 }
`;

const KUSTOMIZE_CONFIG = `
isolation: namespace
deploy:
  image: registry.invalid/web:{{shortSha}}
  kustomize:
    path: deploy/overlays/preview
    images: [web]
url: { service: web, port: 8080 }
`;

function rigFor(bot: KubeConfig, admin: KubeConfig, config: string, files: Record<string, string>) {
  return setup(bot, admin, { config, files, settings: { PRENV_RENDER_TOOLS: toolsDir! } });
}

async function close(s: Setup, admin: KubeConfig): Promise<void> {
  (s.pr.pr as { state: string }).state = "closed";
  await s.rig.deliver(
    "pull_request",
    pullRequestPayload("closed", {
      owner: s.owner,
      repo: s.repo,
      number: s.number,
      sha: SHA2,
      state: "closed",
    }),
  );
  await s.rig.settle();
  await eventually(`${s.ns} deleted`, 60_000, async () => !(await namespaceExists(admin, s.ns)));
  expect(s.comments.comments[0]!.body).toContain("deleted");
}

async function image(admin: KubeConfig, ns: string, name: string): Promise<string | undefined> {
  const d = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace: ns });
  return d.spec?.template.spec?.containers[0]?.image;
}

async function tenantObjects(admin: KubeConfig, ns: string): Promise<string[]> {
  const apps = admin.makeApiClient(AppsV1Api);
  const core = admin.makeApiClient(CoreV1Api);
  const [deployments, services] = await Promise.all([
    apps.listNamespacedDeployment({ namespace: ns }),
    core.listNamespacedService({ namespace: ns }),
  ]);
  return [
    ...deployments.items.map((d) => `Deployment/${d.metadata!.name}`),
    ...services.items.map((x) => `Service/${x.metadata!.name}`),
    ...(await configMaps(admin, ns)).map((n) => `ConfigMap/${n}`),
  ].sort();
}

describe.skipIf(!toolsDir)("deploying a Helm chart", () => {
  test("open renders the chart (values file and set) and applies it as the tenant; a push that drops a template prunes its object; close deletes everything", async ({
    bot,
    admin,
  }) => {
    const s = await rigFor(bot, admin, HELM_CONFIG, chart());
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();

    expect(await tenantObjects(admin, s.ns)).toEqual([
      "ConfigMap/pr-7-web-settings",
      "Deployment/pr-7-web",
      "Service/web",
    ]);
    expect(await image(admin, s.ns, "pr-7-web")).toBe("registry.invalid/web:1111111");
    const settings = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "pr-7-web-settings", namespace: s.ns });
    expect(settings.data).toMatchObject({
      host: `${s.ns}.preview.test`,
      pr: "7",
      sha: SHA1,
      greeting: "preview",
      literal: "{{ not a template }}",
      // the host's version, read from the real API server
      kube: "v1.34",
    });
    const deployment = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: "pr-7-web", namespace: s.ns });
    expect(
      deployment.metadata?.managedFields?.filter((f) => f.operation === "Apply").map((f) => f.manager),
    ).toEqual(["prenv"]);
    expect(deployment.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("prenv");
    const ingress = await admin
      .makeApiClient(NetworkingV1Api)
      .readNamespacedIngress({ name: "prenv-preview", namespace: s.ns });
    expect(ingress.spec?.rules?.[0]?.host).toBe(`${s.ns}.preview.test`);
    expect(s.comments.comments).toHaveLength(1);
    expect(s.comments.comments[0]!.body).toContain("`1111111`");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "success" });

    // push: the ConfigMap's template is gone, the image follows the new commit
    const next = chart();
    delete next["deploy/chart/templates/configmap.yaml"];
    await s.rig.deliver("pull_request", push(s, SHA2, next));
    await s.rig.settle();
    expect(await tenantObjects(admin, s.ns)).toEqual(["Deployment/pr-7-web", "Service/web"]);
    expect(await image(admin, s.ns, "pr-7-web")).toBe("registry.invalid/web:2222222");
    expect(s.comments.comments[0]!.body).toContain("`2222222`");

    await close(s, admin);
    s.standIn.verify();
  });

  test("a chart that fails to render, or renders what the pre-flight checks refuse, is reported and nothing is applied", async ({
    bot,
    admin,
  }) => {
    const s = await rigFor(bot, admin, HELM_CONFIG, {
      ...chart(),
      "deploy/chart/templates/broken.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.name }}\n",
    });
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    const body = s.comments.comments[0]!.body;
    expect(body).toContain("deploy/chart/templates/broken.yaml line 4: helm template failed");
    expect(body).toContain("nil pointer");
    expect(s.checks.checkRuns[0]).toMatchObject({ conclusion: "failure" });

    // A node-reaching pod, rendered by the chart: the same check as for a plain manifest.
    const hostPath = chart();
    hostPath["deploy/chart/templates/deployment.yaml"] = hostPath[
      "deploy/chart/templates/deployment.yaml"
    ]!.replace(
      "      containers:",
      "      volumes: [{ name: root, hostPath: { path: / } }]\n      containers:",
    );
    await s.rig.deliver("pull_request", push(s, SHA2, hostPath));
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(s.comments.comments[0]!.body).toMatch(
      // (the comment escapes Markdown: "\(rendered\)")
      /deploy\/chart\/templates\/deployment\.yaml \\?\(rendered\\?\) line \d+, Deployment\/pr-7-web: Volume "root" .* hostPath/,
    );

    // What only the API server refuses (a negative replica count): the dry run of every rendered
    // object fails, so none of them is applied, not even the valid ConfigMap and Service.
    const refused = chart();
    refused["deploy/chart/templates/worker.yaml"] = refused[
      "deploy/chart/templates/deployment.yaml"
    ]!.replace(
      '{{ include "web.name" . }}\nspec:\n  replicas: {{ .Values.replicas }}',
      "worker\nspec:\n  replicas: -1",
    );
    expect(refused["deploy/chart/templates/worker.yaml"]).toContain("replicas: -1");
    await s.rig.deliver("pull_request", push(s, "3333333333333333333333333333333333333333", refused));
    await s.rig.settle();
    expect(await tenantObjects(admin, s.ns)).toEqual([]);
    expect(s.comments.comments[0]!.body).toMatch(/Deployment\/worker.*replicas/);
    s.standIn.verify();
  });
});

describe.skipIf(!toolsDir)("deploying a Kustomize overlay", () => {
  test("open builds the overlay with its base and applies it; a push that drops a generator prunes its ConfigMap; close deletes everything", async ({
    bot,
    admin,
  }) => {
    const s = await rigFor(bot, admin, KUSTOMIZE_CONFIG, overlay());
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await tenantObjects(admin, s.ns)).toEqual([
      "ConfigMap/prenv",
      "ConfigMap/settings",
      "Deployment/web",
      "Service/web",
    ]);
    expect(await image(admin, s.ns, "web")).toBe("registry.invalid/web:1111111");
    const prenv = await admin
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: "prenv", namespace: s.ns });
    expect(prenv.data).toMatchObject({ host: `${s.ns}.preview.test`, namespace: s.ns, pr: "7", sha: SHA1 });
    expect(s.comments.comments[0]!.body).toContain("`1111111`");

    const next = overlay();
    next["deploy/overlays/preview/kustomization.yaml"] =
      "resources: [../../base]\npatches:\n  - path: replicas.yaml\n";
    await s.rig.deliver("pull_request", push(s, SHA2, next));
    await s.rig.settle();
    expect(await tenantObjects(admin, s.ns)).toEqual(["ConfigMap/prenv", "Deployment/web", "Service/web"]);
    expect(await image(admin, s.ns, "web")).toBe("registry.invalid/web:2222222");

    await close(s, admin);
    s.standIn.verify();
  });

  test("an overlay with a remote base is refused in the comment and nothing is applied", async ({
    bot,
    admin,
  }) => {
    const files = overlay();
    files["deploy/overlays/preview/kustomization.yaml"] =
      "resources:\n  - https://github.com/acme/infra//base?ref=main\n";
    const s = await rigFor(bot, admin, KUSTOMIZE_CONFIG, files);
    await s.rig.deliver("pull_request", s.opened);
    await s.rig.settle();
    expect(await namespaceExists(admin, s.ns)).toBe(false);
    expect(s.comments.comments[0]!.body).toContain(
      "is a remote resource; prenv builds only from this repository",
    );
    s.standIn.verify();
  });
});
