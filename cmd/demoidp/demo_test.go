package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoScript runs what `make demo` runs and completes it the way the
// README tells a script to: by posting the verification form.
func TestDemoScript(t *testing.T) {
	if os.Getenv("IDPLUG_BIN") == "" {
		t.Skip("needs the binaries of make build: run make test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./cmd/demoidp/demo.sh", addr, "--no-browser")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`^\s+([A-Z0-9]{4}-[A-Z0-9]{4})$`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := code.FindStringSubmatch(sc.Text()); m != nil {
				resp, err := http.PostForm("http://"+addr+"/device", url.Values{"user_code": {m[1]}, "user": {"bob"}, "action": {"approve"}})
				if err != nil {
					t.Error(err)
					continue
				}
				resp.Body.Close()
			}
		}
	}()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "username:  bob") {
		t.Errorf("the demo's whoami does not show bob:\n%s", out.String())
	}
}
