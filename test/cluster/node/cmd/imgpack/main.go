// imgpack packs static binaries and files into an OCI image tarball, without a registry or a
// base image:
//
//	imgpack -o web.tar -ref prenv.test/web:v1 -file /testapp=bin/testapp:0755 \
//	  -entrypoint /testapp -arg web [-env K=V] [-user 65532:65532] [-workdir /]
//
// Import the result with `ctr -n k8s.io images import --local web.tar`.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"prenv.test/node/imgpack"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var files, args, env, labels list
	out := flag.String("o", "", "output tarball")
	ref := flag.String("ref", "", "image reference, e.g. prenv.test/web:v1")
	entrypoint := flag.String("entrypoint", "", "entrypoint (the program's path in the image)")
	user := flag.String("user", "", "numeric user[:group] (default 65532:65532)")
	workdir := flag.String("workdir", "", "working directory (default /)")
	arch := flag.String("arch", "", "architecture (default: this machine's)")
	flag.Var(&files, "file", "DEST=SRC[:MODE], repeatable (MODE in octal)")
	flag.Var(&args, "arg", "argument after the entrypoint, repeatable")
	flag.Var(&env, "env", "K=V, repeatable")
	flag.Var(&labels, "label", "K=V, repeatable")
	flag.Parse()
	if *out == "" || *ref == "" || *entrypoint == "" || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "imgpack: -o, -ref, -entrypoint and at least one -file are required")
		flag.Usage()
		os.Exit(2)
	}
	spec := imgpack.Spec{
		Ref: *ref, Entrypoint: []string{*entrypoint}, Cmd: args, Env: env,
		User: *user, WorkingDir: *workdir, Arch: *arch, Labels: map[string]string{},
	}
	for _, f := range files {
		file, err := parseFile(f)
		if err != nil {
			fail(err)
		}
		spec.Files = append(spec.Files, file)
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			fail(fmt.Errorf("label %q: want K=V", l))
		}
		spec.Labels[k] = v
	}
	if err := imgpack.Write(spec, *out); err != nil {
		fail(err)
	}
}

func parseFile(s string) (imgpack.File, error) {
	dest, src, ok := strings.Cut(s, "=")
	if !ok || dest == "" || src == "" {
		return imgpack.File{}, fmt.Errorf("file %q: want DEST=SRC[:MODE]", s)
	}
	f := imgpack.File{Dest: dest, Src: src}
	if i := strings.LastIndex(src, ":"); i > 0 {
		if m, err := strconv.ParseUint(src[i+1:], 8, 32); err == nil {
			f.Src, f.Mode = src[:i], os.FileMode(m)
		}
	}
	return f, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imgpack:", err)
	os.Exit(1)
}
