package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idplug/idplug/host/cli"
	"github.com/idplug/idplug/internal/config"
)

// readmeBlocks returns the contents of the README's fenced code blocks in
// language lang.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```"+lang+"\n(.*?)^```").FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md has no %s block", lang)
	}
	return blocks
}

// TestREADMEConfig parses the README's configuration example as the host does.
func TestREADMEConfig(t *testing.T) {
	for _, block := range readmeBlocks(t, "toml") {
		cfg, err := config.Parse("README.md", []byte(block))
		if err != nil {
			t.Fatalf("the README's configuration does not parse:\n%v", err)
		}
		if p, err := cfg.Profile(""); err != nil || p.Provider != "keycloak" {
			t.Errorf("default profile = %v, %v; want the keycloak profile", p, err)
		}
		if cfg.Plugins["acme"] == nil || cfg.Profiles["acme"] == nil {
			t.Errorf("the README's third-party plugin example is gone")
		}
	}
}

// TestREADMEEmbedding compiles the README's Go snippets against the real API,
// each wrapped in a function that declares what it uses.
func TestREADMEEmbedding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	var embed, mount, extras string
	for _, block := range readmeBlocks(t, "go") {
		switch {
		case strings.Contains(block, "host.WithDefaultConfig("):
			extras = block
		case strings.Contains(block, "host.Open("):
			embed = block
		case strings.Contains(block, "cli.Mount("):
			mount = block
		}
	}
	if embed == "" || mount == "" || extras == "" {
		t.Fatal("README.md lacks the host.Open, the cli.Mount or the WithDefaultConfig snippet")
	}
	program := fmt.Sprintf(`package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/host/cli"
	"github.com/idplug/idplug/sdk"
)

func embed(ctx context.Context) {
%s
	_, _ = resp, err
}

func extras(ctx context.Context, myProvider sdk.Provider, partnerWasm []byte) {
%s
	_, _ = h, err
}

func mount(root *cobra.Command, version string) {
%s
}

func main() {
	_, _, _ = embed, mount, extras
	_ = fmt.Sprint()
}
`, embed, extras, mount)
	// An overlay puts the program inside the module without writing there.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	overlay := filepath.Join(dir, "overlay.json")
	os.WriteFile(src, []byte(program), 0o600)
	os.WriteFile(overlay, []byte(fmt.Sprintf(`{"Replace":{%q:%q}}`, filepath.Join(root, "internal", "readmecheck", "main.go"), src)), 0o600)
	cmd := exec.Command("go", "build", "-overlay", overlay, "-o", os.DevNull, "./internal/readmecheck")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go snippets do not compile: %v\n%s\nprogram:\n%s", err, out, program)
	}
}

// TestREADMECommands checks that the README's command table and the CLI agree.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			path := strings.TrimPrefix(sub.CommandPath(), "idplug ")
			if !strings.Contains(readme, "`idplug "+path) && !strings.Contains(readme, "`"+path) {
				t.Errorf("README.md does not list %q", sub.CommandPath())
			}
			sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" && !strings.Contains(readme, "--"+f.Name) {
					t.Errorf("README.md does not mention %s --%s", sub.CommandPath(), f.Name)
				}
			})
			walk(sub)
		}
	}
	root := cli.NewRootCommand(cli.Options{})
	walk(root)
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(readme, "`--"+f.Name) {
			t.Errorf("README.md does not mention the global flag --%s", f.Name)
		}
	})
}
