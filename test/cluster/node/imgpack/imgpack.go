// Package imgpack packs files (static binaries, configuration) into a single-layer OCI image
// and writes it as an image tarball that `ctr images import` (or `docker load`) accepts, without
// a registry or a base image. The image's config carries the OS and architecture (containerd
// filters out images whose platform is empty), the entrypoint, environment, working directory
// and a numeric non-root user (kubelet checks runAsNonRoot against it).
package imgpack

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one file of the image: Src on the build machine, Dest its absolute path in the image.
type File struct {
	Src  string
	Dest string
	Mode os.FileMode
}

// Spec describes an image.
type Spec struct {
	// Ref is the image reference written into the tarball, e.g. prenv.test/web:v1.
	Ref        string
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	// User is numeric, "uid" or "uid:gid". Empty means 65532:65532 (non-root).
	User   string
	OS     string
	Arch   string
	Labels map[string]string
}

// epoch keeps images reproducible: the same inputs give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Image builds the image described by spec.
func Image(spec Spec) (v1.Image, error) {
	layerTar, err := layerTarball(spec.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromReader(bytes.NewReader(layerTar))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS = orDefault(spec.OS, "linux")
	cfg.Architecture = orDefault(spec.Arch, runtime.GOARCH)
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.Cmd = spec.Cmd
	cfg.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, spec.Env...)
	cfg.Config.WorkingDir = orDefault(spec.WorkingDir, "/")
	cfg.Config.User = orDefault(spec.User, "65532:65532")
	cfg.Config.Labels = spec.Labels
	return mutate.ConfigFile(img, cfg)
}

// Write builds the image and writes it as an image tarball to out.
func Write(spec Spec, out string) error {
	ref, err := name.NewTag(spec.Ref, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", spec.Ref, err)
	}
	img, err := Image(spec)
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

// layerTarball returns an uncompressed tar holding the files and every parent directory.
func layerTarball(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Dest < sorted[j].Dest })
	for _, f := range sorted {
		dest := path.Clean("/" + f.Dest)
		if dest == "/" || strings.HasSuffix(f.Dest, "/") {
			return nil, fmt.Errorf("file destination %q must name a file", f.Dest)
		}
		for _, d := range parents(dest) {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: epoch,
			}); err != nil {
				return nil, err
			}
		}
		if err := addFile(tw, f, dest); err != nil {
			return nil, err
		}
	}
	// A writable /tmp, as most programs expect one.
	if !dirs["/tmp"] {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: epoch,
		}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addFile(tw *tar.Writer, f File, dest string) error {
	src, err := os.Open(f.Src)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Src)
	}
	mode := f.Mode
	if mode == 0 {
		mode = st.Mode().Perm()
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: strings.TrimPrefix(dest, "/"), Mode: int64(mode.Perm()),
		Size: st.Size(), ModTime: epoch,
	}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// parents returns the directories above p, outermost first ("/a/b/c" -> "/a", "/a/b").
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
