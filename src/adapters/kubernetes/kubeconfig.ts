// Loading kubeconfigs and acting as another identity. client-node only knows Impersonate-User;
// prenv also needs Impersonate-Group (to act as the `prenv-bot` group on a test cluster), so
// impersonation is added here, on the one path every request takes (the generated clients' and
// raw.ts's): applySecurityAuthentication.
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";

export interface Impersonation {
  /** e.g. `system:serviceaccount:<ns>:prenv-tenant` */
  user: string;
  /** At most one group: the generated client sends one value per header. */
  group?: string;
}

/** Service-account user name as Kubernetes authenticates it. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** A KubeConfig that sends every request as `as`, using the credentials of `base`. Authentication
 * is delegated to `base` itself, so credentials made per request (EKS tokens) are kept. */
export class ImpersonatingKubeConfig extends KubeConfig {
  readonly impersonation: Impersonation;
  private readonly base: KubeConfig;

  constructor(base: KubeConfig, as: Impersonation) {
    super();
    this.impersonation = as;
    this.base = base;
    this.loadFromOptions({
      clusters: base.clusters,
      contexts: base.contexts,
      users: base.users,
      currentContext: base.currentContext,
    });
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.base.applySecurityAuthentication(context);
    context.setHeaderParam("Impersonate-User", this.impersonation.user);
    if (this.impersonation.group) context.setHeaderParam("Impersonate-Group", this.impersonation.group);
  }
}

/** Loads a kubeconfig file (or the default chain when `path` is undefined) at `context`. */
export function loadKubeConfig(path?: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (context) {
    if (!kc.contexts.some((c) => c.name === context)) {
      throw new Error(
        `kubeconfig has no context named '${context}' (has: ${kc.contexts.map((c) => c.name).join(", ") || "none"})`,
      );
    }
    kc.setCurrentContext(context);
  }
  return kc;
}
