package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
)

// flowsEnv, set to a configuration file, makes the bench a child process that
// runs concurrent device flows and reports its memory (see concurrentFlows).
const flowsEnv = "IDPLUG_BENCH_FLOWS_CONFIG"

// approvalLatency times, over several logins, how long after the user
// approves Login returns, tokens stored and identity read. The user approves
// at a random moment between two polls, so the wait is up to one interval.
func approvalLatency(ctx context.Context, tmp string) {
	const interval = time.Second
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: interval, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _ := writeConfig(tmp, "latency", "file", idp.URL())
	h, err := host.Open(ctx, host.WithConfigFile(config), host.WithCacheDir(filepath.Join(tmp, "cache")))
	check(err)
	defer h.Close()

	var waits []time.Duration
	for range 6 {
		s, err := h.Session("")
		check(err)
		approved := make(chan time.Time, 1)
		before := idp.TokenRequests(demoidp.GrantTypeDeviceCode)
		_, err = s.Login(ctx, host.LoginOptions{OnCode: func(da host.DeviceCode) {
			go func() {
				time.Sleep(interval + rand.N(interval))
				check(idp.Approve(da.UserCode, "alice"))
				approved <- time.Now()
			}()
		}})
		check(err)
		waits = append(waits, time.Since(<-approved))
		polls := idp.TokenRequests(demoidp.GrantTypeDeviceCode) - before
		if polls > 3 {
			fmt.Printf("  warning: %d polls for one login\n", polls)
		}
	}
	worst := slices.Max(waits)
	section("approval to login done (tokens verified and stored, identity read), interval 1 s")
	row{what: "median", value: msQ(median(waits))}.print()
	row{what: "worst", value: msQ(worst), budget: "≤ interval + 50 ms", ok: worst <= interval+50*time.Millisecond}.print()
	fmt.Println()
}

// concurrentFlows runs 1,000 device flows in one child process against a
// demo IdP in this one, waits until every flow has polled, and prints the
// child's resident memory.
func concurrentFlows(ctx context.Context, tmp string) {
	const flows = 1000
	idp, err := demoidp.Start(ctx, demoidp.Options{PollInterval: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer idp.Close()
	config, _ := writeConfig(tmp, "flows", "file", idp.URL())

	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), flowsEnv+"="+config, "IDPLUG_BENCH_FLOWS_N="+strconv.Itoa(flows), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		check(fmt.Errorf("the flows child printed %q", out))
	}
	rss, _ := strconv.Atoi(fields[0])
	hwm, _ := strconv.Atoi(fields[1])
	section(fmt.Sprintf("%d concurrent device flows in one process (every flow polling)", flows))
	row{what: "RSS", value: mbQ(rss << 10)}.print()
	row{what: "peak RSS", value: mbQ(hwm << 10), budget: "≤ 100 MB", ok: hwm<<10 <= 100e6}.print()
	row{what: "device-code polls at the IdP", value: countQ(idp.TokenRequests(demoidp.GrantTypeDeviceCode))}.print()
	fmt.Println()
}

// runFlows is the child of concurrentFlows: it starts n logins of the
// configuration's profile, waits until each has polled twice, and prints its
// VmRSS and VmHWM in KiB.
func runFlows(config string, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := host.Open(ctx, host.WithConfigFile(config))
	check(err)
	defer h.Close()
	var polled sync.WaitGroup
	polled.Add(n)
	for range n {
		s, err := h.Session("")
		check(err)
		go func() {
			var once sync.Once
			count := 0
			_, err := s.Login(ctx, host.LoginOptions{OnEvent: func(host.PollEvent) {
				if count++; count == 2 {
					once.Do(polled.Done)
				}
			}})
			if ctx.Err() == nil {
				check(err)
			}
		}()
	}
	polled.Wait()
	fmt.Println(procStatus("VmRSS:"), procStatus("VmHWM:"))
}

// procStatus returns a field of /proc/self/status in KiB.
func procStatus(field string) int {
	f, err := os.Open("/proc/self/status")
	check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}

// writeConfig writes tmp/name.toml with one profile, "bench", of the demo
// client at issuer, its tokens in backend under tmp/name. It returns the file
// and the token directory.
func writeConfig(tmp, name, backend, issuer string) (config, dir string) {
	config, dir = filepath.Join(tmp, name+".toml"), filepath.Join(tmp, name)
	check(os.WriteFile(config, []byte(fmt.Sprintf(`
[store]
backend = %q
dir = %q
[profiles.bench]
provider  = "oidc"
client_id = %q
[profiles.bench.settings]
issuer = %q
`, backend, dir, demoidp.ClientID, issuer)), 0o600))
	return config, dir
}
