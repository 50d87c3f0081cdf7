package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain runs the test binary as a writer process for TestCrashDuringSave
// when $IDPLUG_STORE_WRITER names a backend, and as a keyring probe for
// TestProbeOfAHungBus when $IDPLUG_STORE_PROBE is set.
func TestMain(m *testing.M) {
	if backend := os.Getenv("IDPLUG_STORE_WRITER"); backend != "" {
		saveForever(backend, os.Getenv("IDPLUG_STORE_DIR"), os.Getenv("IDPLUG_STORE_SERVICE"))
	}
	if os.Getenv("IDPLUG_STORE_PROBE") != "" {
		fmt.Println(osKeyring{}.probe(context.Background()))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func openCrashStore(ctx context.Context, backend, dir, svc string) (Store, error) {
	switch backend {
	case "file":
		return NewFile(dir)
	case "keyring":
		return newKeyring(ctx, dir, service, dirSecrets(filepath.Dir(dir)))
	}
	return NewKeyring(ctx, dir, svc)
}

// crashBundle is the n-th bundle the writer saves. Its size varies, so that
// a torn file cannot pass for a whole one.
func crashBundle(n int) *Bundle {
	b := sample()
	b.AccessToken = fmt.Sprintf("access-%d-%s", n, strings.Repeat("x", n*997%50000))
	return b
}

// checkCrashBundle reports what is wrong with a bundle Load returned.
func checkCrashBundle(b *Bundle) error {
	n, _, ok := strings.Cut(strings.TrimPrefix(b.AccessToken, "access-"), "-")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || b.AccessToken != crashBundle(i).AccessToken {
		return fmt.Errorf("not a bundle the writer saved: access token of %d bytes", len(b.AccessToken))
	}
	return nil
}

// saveForever saves bundles until it is killed, saying "ready" after the
// first.
func saveForever(backend, dir, svc string) {
	ctx := context.Background()
	st, err := openCrashStore(ctx, backend, dir, svc)
	for i := 1; err == nil; i++ {
		if err = st.Save(ctx, Key{"work", fp}, crashBundle(i)); i == 1 && err == nil {
			fmt.Println("ready")
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// TestCrashDuringSave kills writer processes with SIGKILL at random points
// of their saves: the bundle must stay readable, the old one or a new one,
// never torn.
func TestCrashDuringSave(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts many processes")
	}
	for _, backend := range []string{"file", "keyring", "Secret Service"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			var svc string
			if backend == "Secret Service" {
				requireSecretService(t)
				svc = testService(t)
			}
			dir := filepath.Join(t.TempDir(), "state")
			st, err := openCrashStore(ctx, backend, dir, svc)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx, Key{"work", fp}, crashBundle(0)); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for range 15 {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "IDPLUG_STORE_WRITER="+backend, "IDPLUG_STORE_DIR="+dir, "IDPLUG_STORE_SERVICE="+svc)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
					cmd.Wait()
					t.Fatalf("writer failed: %s", stderr.String())
				}
				time.Sleep(time.Duration(rand.IntN(30000)) * time.Microsecond)
				cmd.Process.Kill() // SIGKILL
				cmd.Wait()
				if stderr.Len() > 0 {
					t.Fatalf("writer failed: %s", stderr.String())
				}

				b, err := st.Load(ctx, Key{"work", fp})
				if err != nil {
					t.Fatalf("after a writer was killed: %v", err)
				}
				if err := checkCrashBundle(b); err != nil {
					t.Fatalf("after a writer was killed: %v", err)
				}
				seen[b.AccessToken] = true
			}
			if len(seen) < 2 {
				t.Errorf("the writers saved nothing new in 15 runs")
			}
			if err := st.Delete(ctx, Key{Profile: "work"}); err != nil {
				t.Fatal(err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*work-*")); len(left) != 0 {
				t.Errorf("files left after Delete, temporary ones of killed writers included: %v", left)
			}
		})
	}
}
