// The names of the identities and objects prenv gives every environment, shared by the templates
// that create them (guards.ts) and the adapters that act as or look for them.

/** The tenant service account: a PR's objects are applied as it; its rights are the namespace's RBAC. */
export const TENANT_SERVICE_ACCOUNT = "prenv-tenant";
/** The virtual cluster's name in its host namespace (vcluster names its objects after it). */
export const VCLUSTER_NAME = "vcluster";
/** Its service account on the host, bound to the prenv-vcluster ClusterRole. */
export const VCLUSTER_SERVICE_ACCOUNT = `vc-${VCLUSTER_NAME}`;
/** The host service account of every pod the vcluster copies to the host (vcluster's default name). */
export const VCLUSTER_WORKLOAD_SERVICE_ACCOUNT = `vc-workload-${VCLUSTER_NAME}`;
/** The Secret in which the vcluster publishes its admin kubeconfig (and its parts). */
export const VCLUSTER_KUBECONFIG_SECRET = `vc-${VCLUSTER_NAME}`;
/** Synced pods carry this label with the vcluster's name. */
export const VCLUSTER_MANAGED_BY = "vcluster.loft.sh/managed-by";
