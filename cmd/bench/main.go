// Command bench prints the performance figures of DESIGN.md §6 that this
// build can measure, each the median of several runs. Every row gives the
// figure, the baseline measured in the same run and their ratio where there
// is one, the budget, and pass or MISS; -json also writes them to a file,
// and -only measures some groups of them. `make bench` runs it:
//
//	go run ./cmd/bench -idplug bin/idplug -plugins bin/plugins [-json FILE] [-only wasm,flows]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/store"
	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/sdk"
)

func main() {
	if config := os.Getenv(flowsEnv); config != "" {
		n, err := strconv.Atoi(os.Getenv("IDPLUG_BENCH_FLOWS_N"))
		check(err)
		runFlows(config, n)
		return
	}
	if module := os.Getenv(idleEnv); module != "" {
		runIdle(module)
		return
	}
	if module := os.Getenv(hostileEnv); module != "" {
		runHostile(module, os.Getenv(hostileEnv+"_DO"))
		return
	}
	binary := flag.String("idplug", os.Getenv("IDPLUG_BIN"), "the idplug binary (default $IDPLUG_BIN)")
	plugins := flag.String("plugins", "bin/plugins", "directory of the plugins `make plugins` built")
	examplesDir := flag.String("examples", "bin/examples", "directory of the plugins in C and Rust `make examples` built")
	runs := flag.Int("runs", 25, "runs per process-level figure")
	jsonOut := flag.String("json", "", "also write the figures to this `file` as JSON")
	only := flag.String("only", "", "measure only these comma-separated `groups`: "+strings.Join(groupNames, ", "))
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

	groups := map[string]func(){
		"token":      func() { cachedToken(ctx, tmp, *binary, *runs) },
		"keyring":    func() { keyringToken(ctx, tmp, *binary, *runs) },
		"builtin":    func() { builtinCost(ctx, tmp, *binary, *runs) },
		"expiry":     func() { tokenAtExpiry(ctx, tmp, *binary) },
		"approval":   func() { approvalLatency(ctx, tmp) },
		"wasmfloor":  func() { wasmFloor(ctx, tmp) },
		"wasm":       func() { wasmFigures(ctx, tmp, filepath.Join(*plugins, "oidc.wasm")) },
		"examples":   func() { exampleFigures(ctx, tmp, *examplesDir) },
		"hostile":    func() { hostileMemory(ctx, tmp) },
		"subprocess": func() { subprocessFigures(ctx, filepath.Join(*plugins, "idplug-plugin-oidc")) },
		"flows":      func() { concurrentFlows(ctx, tmp) },
	}
	chosen := groupNames
	if *only != "" {
		chosen = strings.Split(*only, ",")
		for _, g := range chosen {
			if groups[g] == nil {
				log.Fatalf("bench: -only: no group %q; the groups are %s", g, strings.Join(groupNames, ", "))
			}
		}
	}

	underSecretService()
	header := fmt.Sprintf("idplug bench — median of runs; %s; %d CPUs, load average %s", time.Now().Format(time.DateTime), runtime.NumCPU(), loadAverage())
	fmt.Printf("%s\n\n", header)
	for _, g := range chosen {
		groups[g]()
	}
	if *jsonOut != "" {
		writeJSON(*jsonOut, header)
	}
}

// groupNames are the groups of figures, in the order they run.
var groupNames = []string{"token", "keyring", "builtin", "expiry", "approval", "wasmfloor", "wasm", "examples", "hostile", "subprocess", "flows"}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// cachedToken logs in to a demo IdP, then times `idplug token` with the
// cached token next to a Go program that reads a file and prints it, the
// same program with the required dependencies go-plugin and wazero linked
// in (their initialisers and size are every idplug process's floor), and
// `gh auth token` with a token in its hosts.yml.
func cachedToken(ctx context.Context, tmp, binary string, runs int) {
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _, tok := benchLogin(ctx, tmp, "file", "file", idp)

	floorBin, linkedBin := filepath.Join(tmp, "floor"), filepath.Join(tmp, "linked")
	for bin, pkg := range map[string]string{floorBin: "./cmd/bench/floor", linkedBin: "./cmd/bench/linked"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			log.Fatalf("bench: building %s: %v\n%s", pkg, err, out)
		}
	}
	tokenFile := filepath.Join(tmp, "token.txt")
	check(os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600))
	gh := ghCommand(tmp)

	var idplug, execCred, floor, linked, ghs []time.Duration
	for range runs {
		idplug = append(idplug, timeRun(exec.Command(binary, "--config", config, "token")))
		execCred = append(execCred, timeRun(exec.Command(binary, "--config", config, "exec-credential")))
		floor = append(floor, timeRun(exec.Command(floorBin, tokenFile)))
		linked = append(linked, timeRun(exec.Command(linkedBin, tokenFile)))
		if gh != nil {
			ghs = append(ghs, timeRun(gh()))
		}
	}
	i, f := median(idplug), median(floor)
	section("cached token, file store (process start to exit)")
	row{what: "idplug token", value: msQ(i), base: &baseline{"floor", msQ(f)}, budget: "≤ 1.5x floor", ok: ratio(i, f) <= 1.5}.print()
	row{what: "floor: Go program printing a file", value: msQ(f)}.print()
	l := median(linked)
	row{what: "floor + go-plugin and wazero linked", value: msQ(l), base: &baseline{"floor", msQ(f)}}.print()
	row{what: "idplug token vs that", value: msQ(i), base: &baseline{"linked floor", msQ(l)}}.print()
	e := median(execCred)
	row{what: "idplug exec-credential (kubectl)", value: msQ(e), base: &baseline{"token", msQ(i)}, budget: "as fast as token", ok: ratio(e, i) <= 1.1}.print()
	if gh == nil {
		fmt.Println("  gh auth token: skipped, gh is not installed (apt-get install gh)")
	} else {
		g := median(ghs)
		row{what: "gh auth token (hosts.yml)", value: msQ(g), base: &baseline{"floor", msQ(f)}}.print()
		row{what: "idplug token vs gh auth token", value: msQ(i), base: &baseline{"gh", msQ(g)}, budget: "stay ahead of gh", ok: i < g}.print()
	}
	fmt.Println()
}

// ghCommand returns a maker of `gh auth token` commands reading a token
// from a hosts.yml of their own, or nil when gh is not installed.
func ghCommand(tmp string) func() *exec.Cmd {
	gh, err := exec.LookPath("gh")
	if err != nil {
		return nil
	}
	dir := filepath.Join(tmp, "gh")
	check(os.MkdirAll(dir, 0o700))
	check(os.WriteFile(filepath.Join(dir, "hosts.yml"), []byte("github.com:\n    user: bench\n    oauth_token: gho_bench0123456789abcdefghijklmnopqrstuv\n    git_protocol: https\n"), 0o600))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GH_") && !strings.HasPrefix(kv, "GITHUB_") {
			env = append(env, kv)
		}
	}
	env = append(env, "GH_CONFIG_DIR="+dir, "GH_NO_UPDATE_NOTIFIER=1", "GH_PROMPT_DISABLED=1")
	return func() *exec.Cmd {
		cmd := exec.Command(gh, "auth", "token")
		cmd.Env = env
		return cmd
	}
}

// timeRun runs cmd, which must succeed and print something, and returns
// how long it took from start to exit.
func timeRun(cmd *exec.Cmd) time.Duration {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	d := time.Since(start)
	if err != nil || len(out) == 0 {
		log.Fatalf("bench: %v: %v\n%s", cmd.Args, err, stderr.String())
	}
	return d
}

// builtinCost times commands that need the built-in oidc provider, linked
// in-process, against `idplug version`, which needs none: `whoami` of a
// profile logged in to a demo IdP (after one warm-up run), and `plugins info
// oidc`. The budget is a few milliseconds, here 5, on top of version, plus
// whoami's round trips to the IdP (discovery and userinfo, each on a new
// connection as in a new process), timed alone from this process.
func builtinCost(ctx context.Context, tmp, binary string, runs int) {
	const few = 5 * time.Millisecond
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _, tok := benchLogin(ctx, tmp, "builtin", "file", idp)
	cmd := func(args ...string) *exec.Cmd {
		return exec.Command(binary, append([]string{"--config", config}, args...)...)
	}
	timeRun(cmd("whoami")) // warm: the binary and the store in the page cache
	var version, whoami, info, trips []time.Duration
	for range runs {
		version = append(version, timeRun(cmd("version")))
		whoami = append(whoami, timeRun(cmd("whoami")))
		info = append(info, timeRun(cmd("plugins", "info", "oidc")))
		trips = append(trips, roundTrips(idp.URL(), tok))
	}
	v, w, i, t := median(version), median(whoami), median(info), median(trips)
	section("built-in provider (oidc, in-process), process start to exit")
	row{what: "idplug version", value: msQ(v)}.print()
	row{what: "idplug whoami (logged in, warm)", value: msQ(w), base: &baseline{"version", msQ(v)},
		budget: "≤ version + 5 ms + trips = " + msQ(v+few+t).String(), ok: w <= v+few+t}.print()
	row{what: "  its 2 round trips to the IdP, alone", value: msQ(t)}.print()
	row{what: "idplug plugins info oidc", value: msQ(i), base: &baseline{"version", msQ(v)},
		budget: "≤ version + 5 ms = " + msQ(v+few).String(), ok: i <= v+few}.print()
	fmt.Println()
}

// roundTrips times what whoami asks the IdP at issuer: the discovery
// document and userinfo, each on a new connection.
func roundTrips(issuer, accessToken string) time.Duration {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(url, bearer string) []byte {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		check(err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		check(err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		check(err)
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("bench: GET %s: %s", url, resp.Status)
		}
		return b
	}
	start := time.Now()
	var doc struct {
		Userinfo string `json:"userinfo_endpoint"`
	}
	check(json.Unmarshal(get(issuer+"/.well-known/openid-configuration", ""), &doc))
	get(doc.Userinfo, accessToken)
	return time.Since(start)
}

// thirdParty is the name under which the bench configures the plugins of
// bin/plugins, as a user's [plugins.acme] would.
const thirdParty = "acme"

// pinned returns the Source of a [plugins] entry for the plugin file at
// path, pinned by its sha256.
func pinned(path string, command bool) plugin.Source {
	b, err := os.ReadFile(path)
	check(err)
	sum := sha256.Sum256(b)
	src := plugin.Source{SHA256: hex.EncodeToString(sum[:]), Where: "bench: plugins." + thirdParty}
	if command {
		src.Command = path
	} else {
		src.Wasm = path
	}
	return src
}

// loadAndConfigure loads src through a new Loader, as a host does for a
// [plugins] entry (read, check the pin, compile or start, describe), and
// makes the first call a profile makes, configure.
func loadAndConfigure(ctx context.Context, src plugin.Source, cacheDir string, settings map[string]string) (*plugin.Loader, *plugin.Plugin) {
	l := plugin.NewLoader(plugin.Options{Sources: map[string]plugin.Source{thirdParty: src}, CacheDir: cacheDir})
	p, err := l.Load(ctx, thirdParty)
	check(err)
	_, cerrs, err := p.Configure(ctx, settings, sdk.Client{ClientID: "cli"})
	check(err)
	if len(cerrs) > 0 {
		log.Fatalf("bench: configure: %v", cerrs)
	}
	return l, p
}

var (
	benchSettings = map[string]string{"issuer": "https://idp.example.com"}
	benchClaims   = sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins"}}
)

// hookCalls returns the median of 2,000 identity calls to p, configured
// with settings.
func hookCalls(ctx context.Context, p *plugin.Plugin, settings map[string]string) time.Duration {
	var calls []time.Duration
	for range 2000 {
		start := time.Now()
		_, err := p.Identity(ctx, settings, benchClaims, nil)
		calls = append(calls, time.Since(start))
		check(err)
	}
	return median(calls)
}

// wasmFigures times loading the oidc module as a third-party plugin, pinned
// by its sha256, up to its first call, with an empty and with a warm
// compilation cache; then one hook call and the memory of an idle instance.
func wasmFigures(ctx context.Context, tmp, path string) {
	src := pinned(path, false)
	load := func(cacheDir string) time.Duration {
		start := time.Now()
		l, _ := loadAndConfigure(ctx, src, cacheDir, benchSettings)
		d := time.Since(start)
		check(l.Close(ctx))
		return d
	}
	var cold, warm []time.Duration
	for i := range 5 {
		cold = append(cold, load(filepath.Join(tmp, fmt.Sprintf("cold-%d", i))))
	}
	warmDir := filepath.Join(tmp, "warm")
	load(warmDir)
	for range 10 {
		warm = append(warm, load(warmDir))
	}
	fi, err := os.Stat(path)
	check(err)
	section(fmt.Sprintf("third-party wasm plugin: %s (%s) as [plugins.%s], pinned by sha256", filepath.Base(path), mbQ(int(fi.Size())), thirdParty))
	c, w := median(cold), median(warm)
	row{what: "load + configure, empty cache", value: msQ(c), base: reactorBase(func(f *reactorFloor) time.Duration { return f.cold }),
		budget: "≤ 300 ms", ok: c <= 300*time.Millisecond}.print()
	row{what: "load + configure, warm cache", value: msQ(w), base: reactorBase(func(f *reactorFloor) time.Duration { return f.warm }),
		budget: "≤ 30 ms", ok: w <= 30*time.Millisecond}.print()

	l, p := loadAndConfigure(ctx, src, warmDir, benchSettings)
	h := hookCalls(ctx, p, benchSettings)
	check(l.Close(ctx))
	goWasm = &wasmLoad{cold: c, warm: w, hook: h}
	row{what: "hook call (identity, JSON both ways)", value: usQ(h), budget: "≤ 30 µs", ok: h <= 30*time.Microsecond}.print()
	idle := idleInstance(ctx, path, warmDir)
	row{what: "memory per idle instance (RSS)", value: mbQ(idle), budget: "≤ 10 MB", ok: idle <= 10e6}.print()
	fmt.Println()
}

// subprocessFigures times starting the oidc provider as a third-party
// subprocess plugin, pinned by its sha256, up to its first call, as the
// host does it (a sealed private copy of the executable, the pin checked,
// go-plugin's exec and handshake, describe, configure), next to the
// executable run by hand, which only starts and exits; then one hook call.
func subprocessFigures(ctx context.Context, path string) {
	src := pinned(path, true)
	var copies, starts, alone []time.Duration
	for range 20 {
		// The executable run by hand: it says it is a plugin and exits,
		// having started the Go runtime and its package initialisers.
		begin := time.Now()
		exec.Command(path).Run() // exits 1 by design
		alone = append(alone, time.Since(begin))

		begin = time.Now()
		exe, err := subprocess.Copy(path)
		check(err)
		copies = append(copies, time.Since(begin))
		check(exe.Close())

		begin = time.Now()
		l, _ := loadAndConfigure(ctx, src, "", benchSettings)
		starts = append(starts, time.Since(begin))
		check(l.Close(ctx))
	}
	fi, err := os.Stat(path)
	check(err)
	section(fmt.Sprintf("third-party subprocess plugin: %s (%s) as [plugins.%s], pinned by sha256", filepath.Base(path), mbQ(int(fi.Size())), thirdParty))
	s, a := median(starts), median(alone)
	row{what: "start + configure", value: msQ(s), base: &baseline{"executable alone", msQ(a)}, budget: "≤ 20 ms", ok: s <= 20*time.Millisecond}.print()
	row{what: "  of which the sealed copy", value: msQ(median(copies))}.print()
	row{what: "the executable alone, start to exit", value: msQ(a)}.print()

	l, p := loadAndConfigure(ctx, src, "", benchSettings)
	defer l.Close(ctx)
	row{what: "hook call (identity, gRPC, unix socket)", value: usQ(hookCalls(ctx, p, benchSettings))}.print()
	fmt.Println()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "unknown":
// other work on the machine moves every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

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
	section("cached token, keyring backend (Secret Service key + AES-GCM file)")
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
		ds = append(ds, timeRun(exec.Command(binary, "--config", config, "token")))
	}
	row{what: "idplug token", value: msQ(median(ds))}.print()
	fmt.Println()
}

// tokenAtExpiry times 16 `idplug token` processes started together once the
// access token expired, from the first start to the last exit, and counts
// the refreshes the IdP saw (the budget is exactly one).
func tokenAtExpiry(ctx context.Context, tmp, binary string) {
	backends := []string{"file"}
	if keyringReachable(ctx) == nil {
		backends = append(backends, "keyring")
	}
	section("16 processes asking for a token at expiry (first start to last exit)")
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
		one := !slices.ContainsFunc(refreshes, func(n int) bool { return n != 1 })
		row{what: backend + " store: refreshes per round", text: strings.Trim(fmt.Sprint(refreshes), "[]"), budget: "exactly 1", ok: one}.print()
		row{what: backend + " store: start to last exit", value: msQ(median(walls))}.print()
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
