//go:build tools

// Keeps the helm command's packages in go.sum, so build.sh can build it from this module.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
