//go:build tools

// Keeps the kustomize command's packages in go.sum, so build.sh can build it from this module.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
