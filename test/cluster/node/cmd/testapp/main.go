// testapp is the workload of the cluster tier's images: one static program, one mode per image.
//
//	testapp web      HTTP server on $PORT (8080): / answers JSON with $COMMIT, $NAME and every
//	                 $APP_* variable; /healthz/ready and /healthz/live answer 200
//	testapp unready  the same server, but /healthz/ready always answers 503
//	testapp crash    prints a few log lines, then exits with status 3
//	testapp hog      allocates and touches memory until the kernel stops it
//	testapp fetch URL [timeout]   one GET without keep-alive; prints "status N" and the body
//	testapp lookup NAME           resolves NAME; prints the addresses
//	testapp kube PATH             GET PATH from the API server as an in-cluster client does: the
//	                              kubernetes Service, the pod's service-account token and CA
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testapp web|unready|crash|hog|fetch|lookup")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "web":
		serve(true)
	case "unready":
		serve(false)
	case "crash":
		crash()
	case "hog":
		hog()
	case "fetch":
		os.Exit(fetch(os.Args[2:]))
	case "lookup":
		os.Exit(lookup(os.Args[2:]))
	case "kube":
		os.Exit(kube(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "testapp: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

func logf(format string, args ...any) {
	fmt.Printf("%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type answer struct {
	Commit   string            `json:"commit"`
	Name     string            `json:"name"`
	Hostname string            `json:"hostname"`
	Env      map[string]string `json:"env"`
}

func serve(ready bool) {
	host, _ := os.Hostname()
	a := answer{Commit: os.Getenv("COMMIT"), Name: os.Getenv("NAME"), Hostname: host, Env: map[string]string{}}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "APP_") {
			a.Env[k] = v
		}
	}
	body, _ := json.Marshal(a)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz/live", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/healthz/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			logf("readiness: still waiting for the backend at %s", env("BACKEND", "db:5432"))
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		logf("%s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		w.Header().Set("content-type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	})
	addr := env("LISTEN", ":"+env("PORT", "8080"))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	logf("listening on %s (commit %s)", addr, a.Commit)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		logf("serve: %v", err)
		os.Exit(1)
	}
}

func crash() {
	logf("starting (commit %s)", env("COMMIT", "unknown"))
	logf("reading configuration from %s", env("CONFIG", "/etc/app/config.yaml"))
	logf("connecting to %s", env("BACKEND", "db:5432"))
	logf("fatal: %s", env("MESSAGE", "the backend refused the connection"))
	os.Exit(3)
}

func hog() {
	const chunk = 8 << 20
	var kept [][]byte
	for i := 1; ; i++ {
		b := make([]byte, chunk)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		kept = append(kept, b)
		if i%4 == 0 {
			logf("holding %d MiB", i*chunk>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fetch(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: testapp fetch URL [timeout]")
		return 2
	}
	timeout := 3 * time.Second
	if len(args) > 1 {
		if d, err := time.ParseDuration(args[1]); err == nil {
			timeout = d
		}
	}
	// A fresh connection each time: a kept-alive connection opened before a network policy
	// would outlive it in the conntrack table.
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	res, err := client.Get(args[0])
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	fmt.Printf("status %d\n%s", res.StatusCode, body)
	return 0
}

func lookup(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: testapp lookup NAME")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, args[0])
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	sort.Strings(addrs)
	fmt.Println(strings.Join(addrs, "\n"))
	return 0
}

func kube(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: testapp kube PATH")
		return 2
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	token, err := os.ReadFile(sa + "/token")
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	ca, err := os.ReadFile(sa + "/ca.crt")
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true, Proxy: nil,
	}}
	host := env("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
	port := env("KUBERNETES_SERVICE_PORT", "443")
	req, _ := http.NewRequest(http.MethodGet, "https://"+net.JoinHostPort(host, port)+args[0], nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err := client.Do(req)
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	fmt.Printf("status %d\n%s", res.StatusCode, body)
	return 0
}
