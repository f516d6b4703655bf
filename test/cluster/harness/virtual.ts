// Standing in for a virtual cluster. Pods do not run on the test control plane, so the vcluster
// process itself cannot start here. What it does for prenv is stood in for at its two ends:
// - a second real control plane (kube-apiserver, controller manager, etcd) answers where the
//   virtual cluster's API would, with a serving certificate for `*.api.preview.test`, reached the
//   way prenv reaches a real one: its per-PR hostname as TLS server name, at an address prenv is
//   told to connect to (PRENV_VCLUSTER_API_ADDRESS, as an operator points it at the ingress);
// - `publishWhenInstalled` does what the vcluster process does once it runs: when prenv's
//   Deployment of it appears in the host namespace, it writes its credentials into the Secret
//   `vc-vcluster`, acting as the vcluster's own service account (so the prenv-vcluster role is
//   what allows it).
import type { KubeConfig } from "@kubernetes/client-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ImpersonatingKubeConfig,
  loadKubeConfig,
  serviceAccountUser,
} from "../../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";
import { VCLUSTER_KUBECONFIG_SECRET, VCLUSTER_SERVICE_ACCOUNT } from "../../../src/environment/guards.js";
import { ADMIN_CONTEXT, startControlPlane, type ControlPlane } from "./controlplane.js";

export const VIRTUAL_API_DOMAIN = "api.preview.test";

export interface VirtualPlane {
  plane: ControlPlane;
  /** `127.0.0.1:<port>`: what PRENV_VCLUSTER_API_ADDRESS is set to. */
  address: string;
  /** The virtual cluster as its admin (what the vcluster's Secret grants). */
  admin: KubeConfig;
  /** The Secret data a vcluster publishes: base64 PEM CA, client certificate and key. */
  secretData: Record<string, string>;
  stop(): Promise<void>;
}

export async function startVirtualPlane(): Promise<VirtualPlane> {
  const runDir = mkdtempSync(join(tmpdir(), "prenv-virtual-"));
  const plane = await startControlPlane({ runDir, applyRbac: false, extraSANs: [`*.${VIRTUAL_API_DOMAIN}`] });
  const pki = join(runDir, "pki");
  const b64 = (f: string) => readFileSync(join(pki, f)).toString("base64");
  return {
    plane,
    address: new URL(plane.server).host,
    admin: loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT),
    secretData: {
      "certificate-authority": b64("ca.crt"),
      "client-certificate": b64("admin.crt"),
      "client-key": b64("admin.key"),
    },
    async stop() {
      await plane.stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** The host namespace as the vcluster's service account would act in it. */
export function asVclusterServiceAccount(hostAdmin: KubeConfig, namespace: string): KubeConfig {
  return new ImpersonatingKubeConfig(hostAdmin, {
    user: serviceAccountUser(namespace, VCLUSTER_SERVICE_ACCOUNT),
  });
}

/**
 * Waits (in the background) for prenv's vcluster Deployment in `namespace`, then publishes the
 * credentials as the vcluster would. Resolves with what it saw of the Deployment; `stop()` ends it.
 */
export function publishWhenInstalled(
  hostAdmin: KubeConfig,
  namespace: string,
  virtual: VirtualPlane,
  opts: { data?: Record<string, string> } = {},
): { published: Promise<{ image: string; serviceAccount: string }>; stop(): void } {
  let stopped = false;
  const admin = new RawKube(hostAdmin);
  const published = (async () => {
    for (;;) {
      if (stopped) throw new Error("stopped before prenv installed the virtual cluster");
      const deployment = (await admin
        .request("GET", `/apis/apps/v1/namespaces/${namespace}/deployments/vcluster`)
        .catch(() => null)) as {
        spec: { template: { spec: { serviceAccountName: string; containers: { image: string }[] } } };
      } | null;
      if (deployment) {
        const vcluster = new RawKube(asVclusterServiceAccount(hostAdmin, namespace));
        await vcluster.apply(
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: VCLUSTER_KUBECONFIG_SECRET, namespace },
            type: "Opaque",
            data: opts.data ?? virtual.secretData,
          } as never,
          { fieldManager: "vcluster", force: true },
        );
        const pod = deployment.spec.template.spec;
        return { image: pod.containers[0]!.image, serviceAccount: pod.serviceAccountName };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  published.catch(() => undefined);
  return {
    published,
    stop: () => {
      stopped = true;
    },
  };
}
