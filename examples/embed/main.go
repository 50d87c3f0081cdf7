// Command mytool is a tool that embeds idplug: its users sign in through
// their identity provider with `mytool auth login`, and `mytool call URL`
// sends an authenticated GET. It compiles in a default profile, so that it
// works with no configuration file; a file at $MYTOOL_CONFIG or
// ~/.config/mytool/config.toml adds profiles or overrides this one by name.
//
//	MYTOOL_ISSUER    the identity provider (default http://127.0.0.1:8765, the IdP of make demo)
//	MYTOOL_CLIENT_ID the OAuth client registered there (default idplug-demo)
//
// It is its own module, built with plain go build.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/host/cli"
)

// defaults is the compiled-in configuration: one profile of the generic
// OpenID Connect provider.
func defaults() string {
	return fmt.Sprintf(`
default_profile = "default"

[profiles.default]
provider  = "oidc"
client_id = %s
scopes    = ["openid", "profile", "email", "offline_access"]
[profiles.default.settings]
issuer = %s
`, strconv.Quote(cmp.Or(os.Getenv("MYTOOL_CLIENT_ID"), "idplug-demo")), strconv.Quote(cmp.Or(os.Getenv("MYTOOL_ISSUER"), "http://127.0.0.1:8765")))
}

func main() {
	defer host.KillPlugins()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := cli.Options{App: "mytool", HostOptions: []host.Option{host.WithDefaultConfig(defaults())}}
	root := &cobra.Command{Use: "mytool", Short: "An example tool that signs its users in with idplug"}
	root.SilenceErrors, root.SilenceUsage = true, true // cli.Main prints errors, once
	auth := &cobra.Command{Use: "auth", Short: "Sign in to your organisation"}
	cli.Mount(auth, opts)
	root.AddCommand(auth, callCommand(opts))
	os.Exit(cli.Main(ctx, root, os.Args[1:]))
}

// callCommand is the tool's own work: a GET through the session's client,
// which attaches the access token and refreshes it when it expires.
func callCommand(opts cli.Options) *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "call URL",
		Short: "GET a URL with your access token and print the response body",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			h, err := host.Open(ctx, append([]host.Option{host.WithApp(opts.App), host.WithCommand("mytool auth")}, opts.HostOptions...)...)
			if err != nil {
				return err
			}
			defer h.Close()
			s, err := h.Session(profile)
			if err != nil {
				return err
			}
			if _, err := s.Token(ctx); err != nil { // not logged in: say so before any request
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
			if err != nil {
				return err
			}
			resp, err := s.Client(ctx).Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(cmd.OutOrStdout(), resp.Body); err != nil {
				return err
			}
			if resp.StatusCode >= 300 {
				return fmt.Errorf("GET %s: %s", args[0], resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", os.Getenv("MYTOOL_PROFILE"), "profile to use (env $MYTOOL_PROFILE; default: default_profile)")
	return cmd
}
