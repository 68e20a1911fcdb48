// Command web is the demo workload: a small HTTP server that says which pod
// answered, shows the configuration and secret it was given, and offers a few
// endpoints tests use to exercise the cluster (CPU load, a crash, health).
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	// `web get URL` fetches URL and prints the answer: a client inside a pod for
	// checks of service discovery (kubectl exec POD -- /web get http://web/).
	if len(os.Args) == 3 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2]))
	}
	addr := ":" + env("PORT", "8080")
	host, _ := os.Hostname()
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
		if m := config("MESSAGE", "/etc/web/config/message"); m != "" {
			fmt.Fprintf(w, "message: %s\n", m)
		}
		// The secret itself is never shown, only that it arrived.
		if s := config("SECRET", "/etc/web/secret/token"); s != "" {
			fmt.Fprintf(w, "secret: %d bytes\n", len(s))
		}
		fmt.Fprintf(w, "version: %s\n", env("VERSION", "1"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		// HEALTHY_FOR makes the liveness probe fail after a while, for tests of restarts.
		if d, err := time.ParseDuration(os.Getenv("HEALTHY_FOR")); err == nil && time.Since(started) > d {
			http.Error(w, "unhealthy on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		if ms <= 0 || ms > 10000 {
			ms = 100
		}
		end := time.Now().Add(time.Duration(ms) * time.Millisecond)
		n := 0
		for time.Now().Before(end) {
			n++
		}
		fmt.Fprintf(w, "burned %d ms on %s\n", ms, host)
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "exiting")
		go func() { time.Sleep(100 * time.Millisecond); os.Exit(3) }()
	})
	log.Printf("web listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func get(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	os.Stdout.Write(b)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// config reads a setting from the environment, or from a mounted file.
func config(envName, file string) string {
	if v := os.Getenv(envName); v != "" {
		return v
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
