// Command bench prints the performance figures of DESIGN.md §6 that this
// build can measure, each the median of several runs, with ratios against a
// baseline measured in the same run. `make bench` runs it:
//
//	IDPLUG_BIN=bin/idplug go run ./internal/bench -plugins bin/plugins
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/host/store"
	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/sdk"
)

func main() {
	if config := os.Getenv(flowsEnv); config != "" {
		n, err := strconv.Atoi(os.Getenv("IDPLUG_BENCH_FLOWS_N"))
		check(err)
		runFlows(config, n)
		return
	}
	binary := flag.String("idplug", os.Getenv("IDPLUG_BIN"), "the idplug binary (default $IDPLUG_BIN)")
	plugins := flag.String("plugins", "bin/plugins", "directory of the built plugin modules")
	runs := flag.Int("runs", 25, "runs per process-level figure")
	flag.Parse()
	if *binary == "" {
		log.Fatal("bench: set -idplug or $IDPLUG_BIN to the idplug binary (make bench does)")
	}
	// The demo IdP's OpenID library logs every pending poll to the default
	// logger; the figures are what this program prints.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "idplug-bench-")
	check(err)
	defer os.RemoveAll(tmp)

	module, err := os.ReadFile(filepath.Join(*plugins, "oidc.wasm"))
	check(err)

	underSecretService()
	fmt.Printf("idplug bench — median of runs; %s\n\n", time.Now().Format(time.DateTime))
	cachedToken(ctx, tmp, *binary, *runs)
	keyringToken(ctx, tmp, *binary, *runs)
	tokenAtExpiry(ctx, tmp, *binary)
	approvalLatency(ctx, tmp)
	wasmFigures(ctx, tmp, module)
	subprocessFigures(ctx, filepath.Join(*plugins, "idplug-plugin-oidc"))
	fmt.Println()
	concurrentFlows(ctx, tmp)
}

// cachedToken logs in to a demo IdP, then times `idplug token` with the
// cached token next to a Go program that reads a file and prints it.
func cachedToken(ctx context.Context, tmp, binary string, runs int) {
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _, tok := benchLogin(ctx, tmp, "file", "file", idp)

	floorBin := filepath.Join(tmp, "floor")
	out, err := exec.Command("go", "build", "-o", floorBin, "./internal/bench/floor").CombinedOutput()
	if err != nil {
		log.Fatalf("bench: building the floor program: %v\n%s", err, out)
	}
	tokenFile := filepath.Join(tmp, "token.txt")
	check(os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600))

	var idplug, floor []time.Duration
	for range runs {
		idplug = append(idplug, timeRun(binary, "--config", config, "token"))
		floor = append(floor, timeRun(floorBin, tokenFile))
	}
	i, f := median(idplug), median(floor)
	fmt.Println("cached token (process start to exit)")
	fmt.Printf("  idplug token                    %8s\n", ms(i))
	fmt.Printf("  floor: Go program printing file %8s\n", ms(f))
	fmt.Printf("  ratio                           %8.2fx   (budget 1.5x)\n\n", float64(i)/float64(f))
}

func timeRun(name string, args ...string) time.Duration {
	cmd := exec.Command(name, args...)
	start := time.Now()
	out, err := cmd.Output()
	d := time.Since(start)
	if err != nil || len(out) == 0 {
		log.Fatalf("bench: %s %v: %v", name, args, err)
	}
	return d
}

// wasmFigures times loading the oidc module with a cold and a warm
// compilation cache, each up to its first call, and one hook call.
func wasmFigures(ctx context.Context, tmp string, module []byte) {
	load := func(cacheDir string) (time.Duration, *plugin.Plugin, *wasm.Runtime) {
		start := time.Now()
		rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: cacheDir})
		check(err)
		m, err := rt.Load(ctx, "oidc", module)
		check(err)
		p, err := plugin.New(ctx, "oidc", "bench", m)
		check(err)
		return time.Since(start), p, rt
	}
	var cold, warm []time.Duration
	for i := range 5 {
		d, _, rt := load(filepath.Join(tmp, fmt.Sprintf("cold-%d", i)))
		cold = append(cold, d)
		rt.Close(ctx)
	}
	warmDir := filepath.Join(tmp, "warm")
	_, _, rt := load(warmDir)
	rt.Close(ctx)
	for range 10 {
		d, _, rt := load(warmDir)
		warm = append(warm, d)
		rt.Close(ctx)
	}
	fmt.Printf("wasm plugin load + first call (oidc.wasm, %d KiB)\n", len(module)/1024)
	fmt.Printf("  cold compile                    %8s   (budget 300 ms)\n", ms(median(cold)))
	fmt.Printf("  warm (compilation cache)        %8s   (budget 30 ms)\n\n", ms(median(warm)))

	_, p, rt := load(warmDir)
	defer rt.Close(ctx)
	claims := sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins"}}
	var calls []time.Duration
	for range 2000 {
		start := time.Now()
		_, err := p.Identity(ctx, claims, nil)
		calls = append(calls, time.Since(start))
		check(err)
	}
	fmt.Println("hook call across the wasm boundary (identity, JSON both ways)")
	fmt.Printf("  median                          %8s   (budget 30 µs)\n", us(median(calls)))
}

// subprocessFigures times starting the oidc provider as a subprocess plugin
// up to its first call, as the host does it (a sealed private copy of the
// executable, then go-plugin's exec and handshake, then describe), and one
// hook call, next to the wasm figures.
func subprocessFigures(ctx context.Context, path string) {
	quiet := slog.New(slog.DiscardHandler)
	start := func() (copied, started time.Duration, p *plugin.Plugin, sp *subprocess.Plugin) {
		begin := time.Now()
		exe, err := subprocess.Copy(path)
		check(err)
		copied = time.Since(begin)
		sp, err = subprocess.Start(ctx, "oidc", exe, subprocess.Options{Logger: quiet})
		check(err)
		p, err = plugin.New(ctx, "oidc", "bench", sp)
		check(err)
		return copied, time.Since(begin), p, sp
	}
	var copies, starts []time.Duration
	for range 20 {
		c, d, _, sp := start()
		copies, starts = append(copies, c), append(starts, d)
		check(sp.Close(ctx))
	}
	fi, err := os.Stat(path)
	check(err)
	fmt.Printf("\nsubprocess plugin start + first call (idplug-plugin-oidc, %d MiB)\n", fi.Size()>>20)
	fmt.Printf("  copy, exec, handshake, describe %8s   (budget 20 ms)\n", ms(median(starts)))
	fmt.Printf("  of which the sealed copy        %8s\n\n", ms(median(copies)))

	_, _, p, sp := start()
	defer sp.Close(ctx)
	claims := sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins"}}
	var calls []time.Duration
	for range 2000 {
		begin := time.Now()
		_, err := p.Identity(ctx, claims, nil)
		calls = append(calls, time.Since(begin))
		check(err)
	}
	fmt.Println("hook call across the subprocess boundary (identity, JSON over gRPC with mTLS)")
	fmt.Printf("  median                          %8s\n", us(median(calls)))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func check(err error) {
	if err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// underSecretService reruns the bench in a D-Bus session of its own with a
// fresh, unlocked gnome-keyring when no Secret Service is reachable and
// dbus-run-session and gnome-keyring-daemon are installed, so that the
// keyring figures get measured. It returns when it did not rerun.
func underSecretService() {
	if os.Getenv("IDPLUG_BENCH_SESSION") != "" || keyringReachable(context.Background()) == nil {
		return
	}
	run, err := exec.LookPath("dbus-run-session")
	if _, err2 := exec.LookPath("gnome-keyring-daemon"); err != nil || err2 != nil {
		return
	}
	data, err := os.MkdirTemp("", "idplug-bench-keyring-")
	check(err)
	cmd := exec.Command(run, "--", "sh", "-ec", `printf bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$@"`, "sh")
	cmd.Args = append(cmd.Args, os.Args...)
	cmd.Env = append(os.Environ(), "IDPLUG_BENCH_SESSION=1", "XDG_DATA_HOME="+data)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	os.RemoveAll(data)
	if err != nil {
		log.Fatalf("bench: under dbus-run-session: %v", err)
	}
	os.Exit(0)
}

// keyringReachable reports why the keyring backend cannot be used, or nil.
func keyringReachable(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "idplug-bench-probe-")
	check(err)
	defer os.RemoveAll(dir)
	_, err = store.Open(ctx, store.Options{Backend: "keyring", Dir: dir})
	return err
}

// benchLogin writes a configuration with one profile, "bench", whose tokens
// go to backend in tmp/name, and logs it in to idp. It returns the
// configuration file, the token directory and the access token.
func benchLogin(ctx context.Context, tmp, name, backend string, idp *demoidp.Server) (config, dir, accessToken string) {
	config, dir = writeConfig(tmp, name, backend, idp.URL())
	h, err := host.Open(ctx, host.WithConfigFile(config), host.WithCacheDir(filepath.Join(tmp, "cache")))
	check(err)
	defer h.Close()
	s, err := h.Session("")
	check(err)
	_, err = s.Login(ctx, host.LoginOptions{OnCode: func(da host.DeviceCode) { check(idp.Approve(da.UserCode, "alice")) }})
	check(err)
	tok, err := s.Token(ctx)
	check(err)
	return config, dir, tok.AccessToken
}

// keyringToken times `idplug token` with a cached token in the keyring
// backend: a D-Bus round trip to the Secret Service and AES-GCM on top of the
// file read.
func keyringToken(ctx context.Context, tmp, binary string, runs int) {
	fmt.Println("cached token, keyring backend (Secret Service key + AES-GCM file)")
	if err := keyringReachable(ctx); err != nil {
		fmt.Printf("  skipped: %v\n  (install gnome-keyring and dbus, or run under dbus-run-session with an unlocked keyring)\n\n", err)
		return
	}
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _, _ := benchLogin(ctx, tmp, "keyring", "keyring", idp)
	var ds []time.Duration
	for range runs {
		ds = append(ds, timeRun(binary, "--config", config, "token"))
	}
	fmt.Printf("  idplug token                    %8s\n\n", ms(median(ds)))
}

// tokenAtExpiry times 16 `idplug token` processes started together once the
// access token expired, from the first start to the last exit, and counts
// the refreshes the IdP saw (the budget is exactly one).
func tokenAtExpiry(ctx context.Context, tmp, binary string) {
	backends := []string{"file"}
	if keyringReachable(ctx) == nil {
		backends = append(backends, "keyring")
	}
	fmt.Println("16 processes asking for a token at expiry (first start to last exit)")
	for _, backend := range backends {
		idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
		check(err)
		config, dir, _ := benchLogin(ctx, tmp, "expiry-"+backend, backend, idp)
		var walls []time.Duration
		var refreshes []int
		for range 7 {
			expireStored(ctx, dir, backend)
			before := idp.TokenRequests(demoidp.GrantTypeRefreshToken)
			cmds := make([]*exec.Cmd, 16)
			start := time.Now()
			for i := range cmds {
				cmds[i] = exec.Command(binary, "--config", config, "token")
				check(cmds[i].Start())
			}
			for _, cmd := range cmds {
				check(cmd.Wait())
			}
			walls = append(walls, time.Since(start))
			refreshes = append(refreshes, idp.TokenRequests(demoidp.GrantTypeRefreshToken)-before)
		}
		idp.Close()
		fmt.Printf("  %-7s backend                 %8s   refresh requests per round: %v (budget exactly 1)\n", backend, ms(median(walls)), refreshes)
	}
	fmt.Println()
}

// expireStored makes the one bundle in dir expired, as time would.
func expireStored(ctx context.Context, dir, backend string) {
	files, err := filepath.Glob(filepath.Join(dir, "bench-*"))
	check(err)
	if len(files) != 1 {
		log.Fatalf("bench: want one bundle file in %s, found %v", dir, files)
	}
	data, err := os.ReadFile(files[0])
	check(err)
	var k store.Key // plain and encrypted files name these in the clear
	check(json.Unmarshal(data, &k))
	st, err := store.Open(ctx, store.Options{Backend: backend, Dir: dir})
	check(err)
	b, err := st.Load(ctx, k)
	check(err)
	b.Expiry = time.Now().Add(-time.Minute)
	check(st.Save(ctx, k, b))
}
