// Operator settings for tests: the real parser, with test values.
//
// Scenarios that do not reach previews through the data plane run with `routing: ingress` and
// "ready" meaning rolled out (PRENV_READY_CHECK=rollout): no ingress controller runs in the test
// world, and the virtual-cluster scenarios still reach their API through the harness's SNI
// passthrough (harness/passthrough.ts), which follows Ingresses carrying ingress-nginx's passthrough
// annotation. The Gateway scenarios (gateway-env.test.ts, with the data plane) set
// PRENV_ROUTING=gateway and PRENV_READY_CHECK=url: the production defaults.
import { loadSettings, type Settings } from "../../src/runtime/settings.js";

export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    PRENV_BASE_DOMAIN: "preview.test",
    PRENV_URL_SCHEME: "https",
    PRENV_ROLLOUT_TIMEOUT_SECONDS: "20",
    // Follow-up looks at a rollout every second (as the rollout wait polled before them).
    PRENV_ROLLOUT_CHECK_SECONDS: "1",
    PRENV_ROUTING: "ingress",
    PRENV_READY_CHECK: "rollout",
    PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS:
      "nginx.ingress.kubernetes.io/backend-protocol=HTTPS,nginx.ingress.kubernetes.io/ssl-passthrough=true",
    ...overrides,
  });
}
