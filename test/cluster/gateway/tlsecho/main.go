// tlsecho is a test workload for TLS passthrough: an HTTPS server on :8443 that presents the
// certificate it is given (TLS_CERT, TLS_KEY: files) and answers every request with its NAME and
// the TLS server name the client asked for, so a test can tell that the connection reached this
// pod untouched (its certificate, not the Gateway's) and for which host.
package main

import (
	"crypto/tls"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	name := os.Getenv("NAME")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name, "sni": sni, "path": r.URL.Path})
	})
	srv := &http.Server{
		Addr:              ":8443",
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	log.Printf("tlsecho %q listening on :8443", name)
	log.Fatal(srv.ListenAndServeTLS(os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY")))
}
