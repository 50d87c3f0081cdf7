package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/safetext"
)

func newWhoamiCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who is logged in on the profile",
		Long: `Show the identity of the profile's user, from the verified ID token and the
identity provider's userinfo endpoint, as the provider's plugin maps them.

Exits 3 when the profile is not logged in or the identity provider no longer
accepts its session: run ` + g.opts.App + ` login.`,
		Example: `  ` + g.opts.App + ` whoami
  ` + g.opts.App + ` whoami --json | jq -r .email`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWhoami(cmd.Context(), g, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print subject, username, name, email, groups, provider, profile, expires_at as JSON")
	return cmd
}

func runWhoami(ctx context.Context, g *globals, asJSON bool) error {
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	id, err := s.Identity(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		writeJSON(g.io.Out, id)
		return nil
	}
	tw := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, safetext.Line(v))
		}
	}
	row("username", id.Username)
	row("name", id.Name)
	row("email", id.Email)
	row("subject", id.Subject)
	row("groups", strings.Join(id.Groups, ", "))
	row("provider", id.Provider)
	row("profile", id.Profile)
	if id.ExpiresAt != nil {
		row("expires", fmt.Sprintf("%s (in %s)", id.ExpiresAt.Local().Format(time.DateTime), time.Until(*id.ExpiresAt).Round(time.Second)))
	}
	return tw.Flush()
}
