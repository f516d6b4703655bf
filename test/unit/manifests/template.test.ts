import { describe, expect, it } from "vitest";
import { ManifestError } from "../../../src/manifests/errors.js";
import { blockDepth } from "../../../src/manifests/template-check.js";
import {
  renderManifest,
  resolveTemplateVars,
  TEMPLATE_VARIABLES,
  type TemplateVars,
} from "../../../src/manifests/template.js";

const vars: TemplateVars = {
  pr: 42,
  sha: "0123456789abcdef0123456789abcdef01234567",
  shortSha: "0123456",
  branch: "feature/Login_Page",
  branchSlug: "feature-login-page",
  namespace: "pr-42-acme-web-1a2b3c",
  host: "pr-42-acme-web-1a2b3c.preview.example.com",
  image: "ghcr.io/acme/web:0123456",
};

function renderError(source: string, v: TemplateVars = vars, file = "deploy/app.yaml"): ManifestError {
  try {
    renderManifest(file, source, v);
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error(`expected ${JSON.stringify(source)} to be refused`);
}

describe("renderManifest", () => {
  it.each(Object.keys(TEMPLATE_VARIABLES) as (keyof TemplateVars)[])("fills in {{%s}}", (name) => {
    expect(renderManifest("a.yaml", `value: {{${name}}}`, vars)).toBe(`value: ${String(vars[name])}`);
  });

  it("does not HTML-escape (it writes YAML)", () => {
    const v = { ...vars, branch: `a&b<"c">'d'` };
    expect(renderManifest("a.yml", "b: '{{branch}}'", v)).toBe(`b: 'a&b<"c">'d''`);
  });

  it("supports {{#if}}, {{else}}, {{#unless}} and comments, removing standalone block lines", () => {
    const source = [
      "{{! image is optional }}",
      "{{#if image}}",
      "image: {{image}}",
      "{{else}}",
      "image: nginx",
      "{{/if}}",
      "{{#unless image}}",
      "note: no image",
      "{{/unless}}",
      "",
    ].join("\n");
    expect(renderManifest("a.yaml", source, vars)).toBe("image: ghcr.io/acme/web:0123456\n");
    expect(renderManifest("a.yaml", source, { ...vars, image: undefined })).toBe(
      "image: nginx\nnote: no image\n",
    );
  });

  it("returns a file without {{ unchanged", () => {
    const source = "a: b # not a template }}\n";
    expect(renderManifest("a.yaml", source, vars)).toBe(source);
  });

  it("returns files that are not .yaml/.yml unchanged", () => {
    expect(renderManifest("README.md", "{{nope}}", vars)).toBe("{{nope}}");
  });

  it("keeps escaped \\{{ literal", () => {
    expect(renderManifest("a.yaml", "a: \\{{literal}}", vars)).toBe("a: {{literal}}");
  });

  it("fills the other variables into image (deploy.image: ghcr.io/acme/app:{{sha}})", () => {
    const v = { ...vars, image: "ghcr.io/acme/app:{{sha}}" };
    expect(renderManifest("a.yaml", "image: {{image}}", v)).toBe(`image: ghcr.io/acme/app:${vars.sha}`);
    expect(resolveTemplateVars(v).image).toBe(`ghcr.io/acme/app:${vars.sha}`);
  });

  it("names the config file when deploy.image itself is a bad template", () => {
    const err = (() => {
      try {
        resolveTemplateVars({ ...vars, image: "ghcr.io/acme/app:{{image}}" });
      } catch (e) {
        return e as ManifestError;
      }
      throw new Error("expected an error");
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.file).toBe(".github/prenv.yml (deploy.image)");
    expect(err.message).toContain('Unknown template variable "image"');
    expect(err.message).toContain(
      "Available variables: pr, sha, shortSha, branch, branchSlug, namespace, host.",
    );
  });

  it("refuses an unknown variable, naming the file, line and variable", () => {
    const err = renderError("a: 1\nb: {{ prNumber }}\n");
    expect(err.code).toBe("TEMPLATE");
    expect(err.file).toBe("deploy/app.yaml");
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/^deploy\/app\.yaml line 2: Unknown template variable "prNumber"\./);
    expect(err.message).toContain(
      "Available variables: pr, sha, shortSha, branch, branchSlug, namespace, host, image",
    );
  });

  it("refuses an unknown variable even in a branch that is not taken", () => {
    expect(renderError("{{#if image}}{{else}}{{typo}}{{/if}}").message).toContain('"typo"');
  });

  it("allows {{image}} under {{#if image}} or the else of {{#unless image}} when deploy.image is not set", () => {
    const v = { ...vars, image: undefined };
    expect(renderManifest("a.yaml", "{{#if image}}i: {{image}}{{/if}}", v)).toBe("");
    expect(renderManifest("a.yaml", "{{#unless image}}none{{else}}i: {{image}}{{/unless}}", v)).toBe("none");
    expect(renderError("{{#if pr}}i: {{image}}{{/if}}", v).message).toContain("does not set deploy.image");
    expect(renderError("{{#unless image}}i: {{image}}{{/unless}}", v).message).toContain(
      "does not set deploy.image",
    );
  });

  it("refuses {{image}} when deploy.image is not set, saying how to fix it", () => {
    const err = renderError("a: 1\nimage: {{image}}\n", { ...vars, image: undefined });
    expect(err.line).toBe(2);
    expect(err.message).toContain("does not set deploy.image");
    expect(err.message).toContain("{{#if image}}");
  });

  it.each([
    ["{{constructor.name}}", /Unknown template variable "constructor.name"/],
    ["{{constructor}}", /Unknown template variable "constructor"/],
    ["{{__proto__}}", /Unknown template variable "__proto__"/],
    ["{{[__proto__]}}", /Unknown template variable/],
    ["{{this.constructor}}", /Unknown template variable "this.constructor"/],
    ["{{pr.constructor}}", /Unknown template variable "pr.constructor"/],
    ["{{sha.length}}", /Unknown template variable "sha.length"/],
    ["{{@root.pr}}", /Unknown template variable "@root.pr"/],
    ["{{../pr}}", /Unknown template variable "..\/pr"/],
    ["{{this}}", /Unknown template variable "this"/],
    ['{{lookup this "constructor"}}', /helpers are not available/],
    ['{{#with "constructor"}}{{name}}{{/with}}', /\{\{#with\}\} is not available/],
    ["{{#each pr}}{{this}}{{/each}}", /\{\{#each\}\} is not available/],
    ['{{log "hello"}}', /helpers are not available/],
    ["{{> partial}}", /partials/],
    ["{{#> layout}}x{{/layout}}", /partials/],
    ['{{"literal"}}', /only variables/],
    ["{{#if (lookup this 'constructor')}}x{{/if}}", /only variables/],
    ["{{#if pr as |x|}}{{x}}{{/if}}", /block parameters|Unknown template variable/],
    ["{{#pr}}x{{/pr}}", /\{\{#pr\}\} is not available/],
    ["{{*decorator}}", /decorators/],
  ])("blocks %s (no prototype access, no helpers)", (source, message) => {
    const err = renderError(`a: ${source}`);
    expect(err.code).toBe("TEMPLATE");
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("function");
  });

  it("reports a syntax error with its line, without echoing the file", () => {
    const secret = "x".repeat(200);
    const err = renderError(`a: 1\nb: ${secret}\nc: {{ pr ) }}\nd: 2`);
    expect(err.line).toBe(3);
    expect(err.message).toContain("Template syntax error");
    expect(err.message).not.toContain("x".repeat(81));
  });

  it("reports an unclosed block", () => {
    const err = renderError("{{#if image}}\na: 1\n");
    expect(err.message).toContain("before a block is closed");
  });

  it("reports mismatched blocks with the line", () => {
    const err = renderError("a: 1\n{{#if pr}}\n{{/unless}}\n");
    expect(err.code).toBe("TEMPLATE");
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/if doesn't match unless/);
  });

  it("refuses deeply nested blocks before parsing them", () => {
    const source = "{{#if pr}}".repeat(60) + "x" + "{{/if}}".repeat(60);
    const err = renderError(source);
    expect(err.code).toBe("TOO_DEEP");
    expect(err.message).toContain("nested 60 deep; the limit is 50");
    expect(renderManifest("a.yaml", source, vars, { maxDepth: 60 })).toBe("x");
  });

  it("refuses a file larger than the limit before and after rendering", () => {
    expect(() => renderManifest("a.yaml", "a".repeat(101), vars, { maxBytes: 100 })).toThrow(
      /is 101 bytes; the limit is 100 bytes/,
    );
    const source = "{{host}}\n".repeat(5);
    expect(renderManifest("a.yaml", source, vars)).toContain(vars.host);
    expect(() => renderManifest("a.yaml", source, vars, { maxBytes: 100 })).toThrow(
      /renders to \d+ bytes; the limit is 100 bytes/,
    );
  });
});

describe("blockDepth", () => {
  it.each([
    ["no blocks {{pr}}", 0],
    ["{{#if a}}{{/if}}{{#if b}}{{/if}}", 1],
    ["{{#if a}}{{#unless b}}{{/unless}}{{/if}}", 2],
    ["{{~#if a~}}{{else}}{{/if}}", 1],
    ["{{#if a}}{{else if b}}{{else   if c}}{{/if}}{{#if d}}{{/if}}", 3],
    ["{{^a}}{{/a}}", 1],
    ["{{#if a}}{{^}}{{/if}}", 1],
    ["{{/if}}{{/if}}{{#if a}}", 1],
  ])("%j → %i", (source, depth) => {
    expect(blockDepth(source)).toBe(depth);
  });
});

describe("renderManifest bounds its work before rendering", () => {
  const vars: TemplateVars = {
    pr: 1,
    sha: "0123456789abcdef0123456789abcdef01234567",
    shortSha: "0123456",
    branch: "main",
    branchSlug: "main",
    namespace: "pr-1-a-b-c",
    host: "pr-1-a-b-c.preview.example.com",
  };

  it("refuses a file with more template expressions than the limit, without rendering it", () => {
    const source = `data: "${"{{sha}}".repeat(30_000)}"\n`;
    expect(() => renderManifest("x.yaml", source, vars)).toThrow(
      /30000 template expressions; the limit is 1000/,
    );
  });

  it("refuses a file whose rendered size would pass the limit", () => {
    const source = `data: "${"{{sha}}".repeat(900)}"\n`;
    expect(() => renderManifest("x.yaml", source, vars, { maxBytes: 16 * 1024 })).toThrow(
      /renders to 35\.2 KiB/,
    );
  });
});
