//go:build tools

// Blank import keeps every package the vcluster binary needs in go.sum, so
// `go build github.com/loft-sh/vcluster/cmd/vcluster` works from this module.
package tools

import (
	_ "github.com/loft-sh/vcluster/cmd/vcluster/cmd"
	_ "github.com/go-openapi/loads"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	_ "modernc.org/sqlite"
)
