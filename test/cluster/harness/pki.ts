// Certificates and keys for the test control plane, made with the openssl CLI: a CA, the
// apiserver's serving certificate, client certificates (CN = user, O = groups) and the
// service-account signing key. Short-lived (2 days) and never leave the run directory.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ClientCert {
  cert: string;
  key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Issues a certificate signed by the run's CA. */
function issue(dir: string, name: string, subject: string, ext: string): ClientCert {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(["req", "-new", ...EC, "-keyout", key, "-out", csr, "-subj", subject], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      cert,
      "-extfile",
      extFile,
    ],
    dir,
  );
  return { cert, key };
}

export interface Pki {
  caCert: string;
  serving: ClientCert;
  saKey: string;
  saPub: string;
  client(name: string, user: string, groups: string[]): ClientCert;
  /** A serving certificate for `ips` (a kubelet's, for its node address). */
  server(name: string, commonName: string, ips: string[]): ClientCert;
}

/** The `kubernetes` Service's ClusterIP: the first address of the service range (10.96.0.0/16). */
export const KUBERNETES_SERVICE_IP = "10.96.0.1";

/**
 * `extraSANs`: more DNS names for the API server's serving certificate (wildcards allowed);
 * `extraIPs`: more addresses it is reached at (the address pods reach it at).
 */
export function makePki(dir: string, extraSANs: string[] = [], extraIPs: string[] = []): Pki {
  openssl(
    [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=prenv-test-ca",
    ],
    dir,
  );
  const serving = issue(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=IP:127.0.0.1,IP:${KUBERNETES_SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${extraIPs.map((ip) => `,IP:${ip}`).join("")}${extraSANs.map((n) => `,DNS:${n}`).join("")}`,
      "",
    ].join("\n"),
  );
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key"], dir);
  openssl(["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  return {
    caCert: join(dir, "ca.crt"),
    serving,
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
    client(name, user, groups) {
      const subject = [...groups.map((g) => `/O=${g}`), `/CN=${user}`].join("");
      return issue(
        dir,
        name,
        subject,
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
      );
    },
    server(name, commonName, ips) {
      return issue(
        dir,
        name,
        `/CN=${commonName}`,
        [
          "basicConstraints=CA:FALSE",
          "keyUsage=digitalSignature,keyEncipherment",
          "extendedKeyUsage=serverAuth",
          `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}`,
          "",
        ].join("\n"),
      );
    },
  };
}
