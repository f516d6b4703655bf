//go:build tools

// Blank import keeps every package the kine binary needs in go.sum, so
// `go build github.com/k3s-io/kine` works from this module.
package tools

import _ "github.com/k3s-io/kine/pkg/app"
