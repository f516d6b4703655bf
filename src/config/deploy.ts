// `deploy:` what a repository deploys into its environment: raw manifests (deploy.path), a Helm
// chart (deploy.helm) or a Kustomize overlay (deploy.kustomize), exactly one of them, read at the
// pull request's head commit, and what to wait for first.
import { z } from "zod";
import { echo, field } from "./fields.js";
import { DNS_LABEL_RE } from "./sections.js";

/** A path inside the repository: relative to its root, no `..`, no leading `/`. */
function repoPath() {
  return z
    .string()
    .min(1)
    .max(255)
    .superRefine((path, ctx) => {
      const problem = relativePathProblem(path);
      if (problem) ctx.addIssue({ code: "custom", message: `${echo(path)} ${problem}` });
    });
}

const REPO_PATH_FIX = "Give a path relative to the repository root, without a leading '/' or '..'";

/** Where raw manifests are when neither `deploy.helm` nor `deploy.kustomize` is given. */
export const DEFAULT_DEPLOY_PATH = "deploy/preview";

/** A `set` key: a dotted path into the chart's values, e.g. `image.tag`. */
const SET_KEY_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9._\-/:]*$/;

/** `deploy.helm:` a chart in the repository, rendered with `helm template`. */
const helmSchema = z.strictObject({
  chart: field(
    repoPath(),
    "Directory of the Helm chart (the one holding Chart.yaml), relative to the repository root. " +
      "Dependencies must be vendored under its charts/ directory.",
    `${REPO_PATH_FIX}, e.g. deploy/chart.`,
  ),
  values: field(
    z.array(repoPath()).max(20).default([]),
    "Values files in this repository, applied in this order after the chart's own values.yaml " +
      "(later files win), as `helm template -f` does.",
    `List files relative to the repository root, e.g. [deploy/values-preview.yaml]. ${REPO_PATH_FIX}.`,
  ),
  set: field(
    z
      .record(
        z.string(),
        z.union([z.string().max(1024), z.number(), z.boolean(), z.null()], {
          error: (issue) => `${echo(issue.input)} is not a text, number, boolean or null value`,
        }),
      )
      .superRefine(
        (set, ctx) => {
          const keys = Object.keys(set);
          if (keys.length > 50) ctx.addIssue({ code: "custom", message: "at most 50 values can be set" });
          for (const key of keys) {
            if (key.length > 200 || !SET_KEY_RE.test(key)) {
              ctx.addIssue({
                code: "custom",
                path: [key],
                message: `${echo(key)} is not a dotted values key such as image.tag`,
              });
            } else if (key === "prenv" || key.startsWith("prenv.")) {
              ctx.addIssue({
                code: "custom",
                path: [key],
                message: `${echo(key)} is one of the prenv values, which prenv sets itself`,
              });
            }
          }
        },
        { when: (payload) => typeof payload.value === "object" && payload.value !== null },
      )
      .default({}),
    "Values set on top of the values files, as `dotted.key: value` (e.g. image.tag: '{{sha}}'). " +
      "Text values may use the template variables, like deploy.image.",
    "Write set as a mapping of dotted keys to text, numbers or booleans, e.g. set: { image.tag: '{{sha}}' }; " +
      "the prenv.* values are reserved.",
  ),
  releaseName: field(
    z
      .string()
      .max(53)
      .regex(DNS_LABEL_RE, { error: (issue) => `${echo(issue.input)} is not a valid release name` })
      .optional(),
    "The Helm release name (.Release.Name). Default: pr-<number> of the pull request.",
    "Use at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit.",
  ),
});

/** `deploy.kustomize:` an overlay in the repository, rendered with `kustomize build`. */
const kustomizeSchema = z.strictObject({
  path: field(
    repoPath(),
    "Directory of the Kustomize overlay (the one holding kustomization.yaml), relative to the " +
      "repository root. Its bases must be in the repository too.",
    `${REPO_PATH_FIX}, e.g. deploy/overlays/preview.`,
  ),
  images: field(
    z
      .array(
        z
          .string()
          .max(255)
          .regex(IMAGE_NAME_RE, { error: (issue) => `${echo(issue.input)} is not an image name` }),
      )
      .max(20)
      .default([]),
    "Image names used in the overlay that deploy.image replaces (a Kustomize images override), " +
      "e.g. [web] turns every `image: web` into the rendered deploy.image.",
    "List image names as they appear in the manifests, without a tag, e.g. [web]; set deploy.image too.",
  ),
});

/** `deploy:` what to deploy and what to wait for before applying it. */
export const deploySchema = z
  .strictObject({
    path: field(
      // No zod default (it would make every config look as if it gave a path): the transform below
      // applies it, and the JSON Schema shows it.
      repoPath().optional().meta({ default: DEFAULT_DEPLOY_PATH }),
      "Directory of Kubernetes YAML manifests (optionally Handlebars templates) in this repository, " +
        "relative to the repository root. prenv reads it at the pull request's head commit. The " +
        `default (${DEFAULT_DEPLOY_PATH}) applies when neither helm nor kustomize is given.`,
      `${REPO_PATH_FIX}, e.g. ${DEFAULT_DEPLOY_PATH}.`,
    ),
    helm: field(
      helmSchema.optional(),
      "Deploy a Helm chart from this repository instead of plain manifests (rendered offline with " +
        "`helm template`; chart hooks are not run).",
      "Write helm as a mapping, e.g. helm: { chart: deploy/chart, values: [deploy/values-preview.yaml] }.",
    ),
    kustomize: field(
      kustomizeSchema.optional(),
      "Deploy a Kustomize overlay from this repository instead of plain manifests (rendered offline " +
        "with `kustomize build`).",
      "Write kustomize as a mapping, e.g. kustomize: { path: deploy/overlays/preview }.",
    ),
    waitForChecks: field(
      z.array(z.string().min(1).max(255)).max(50).default([]),
      "Names of check runs (for example your image build) that must succeed on the pull request's head " +
        "commit before prenv deploys it. Empty: deploy right away.",
      "List check run names exactly as they appear in the pull request's Checks tab, e.g. [build-image].",
    ),
    image: field(
      z.string().min(1).max(1024).optional(),
      "Container image reference made available to your manifests as the `image` template variable " +
        "(to a chart as prenv.image). It may use template variables itself, e.g. ghcr.io/acme/app:{{sha}}.",
      "Give an image reference as text, e.g. ghcr.io/acme/app:{{sha}}.",
    ),
  })
  .superRefine(
    (deploy, ctx) => {
      if (typeof deploy !== "object" || deploy === null) return;
      const given = (["path", "helm", "kustomize"] as const).filter((k) => deploy[k] !== undefined);
      if (given.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: [given[1]!],
          message: `deploy.${given.join(" and deploy.")} are alternatives, and only one can be given`,
          params: {
            fix: "Keep the one your repository uses: path for plain manifests, helm for a chart, kustomize for an overlay.",
          },
        });
      }
    },
    { when: () => true },
  )
  .transform((deploy) =>
    deploy.helm || deploy.kustomize ? deploy : { ...deploy, path: deploy.path ?? DEFAULT_DEPLOY_PATH },
  );

function relativePathProblem(path: string): string | undefined {
  if (path.startsWith("/")) return "starts with '/'; the path must be relative to the repository root";
  if (path.includes("\\")) return "contains '\\'; use '/' between directories";
  if (path.split("/").includes("..")) return "contains '..'; the directory must be inside the repository";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains control characters";
  return undefined;
}
