package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/safetext"
)

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List every profile, logged in or not, with its expiry",
		Long: `List every profile of the configuration with its provider, whether it holds
tokens, when the access token expires and which store holds it. The identity
provider is not contacted. The default profile is marked with *.`,
		Example: `  ` + g.opts.App + ` status
  ` + g.opts.App + ` status --json | jq -r '.[] | select(.logged_in) | .profile'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), g, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per profile")
	return cmd
}

func runStatus(ctx context.Context, g *globals, asJSON bool) error {
	h, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	rows := h.Status(ctx)
	if asJSON {
		writeJSON(g.io.Out, rows)
		return nil
	}
	tw := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tPROVIDER\tSTATE\tEXPIRES\tSTORE")
	for _, r := range rows {
		name := r.Profile
		if r.Default {
			name += " *"
		}
		state, expires := "logged out", "-"
		switch {
		case r.Error != "":
			state = "unreadable: " + r.Error
		case r.LoggedIn && r.Expired && r.Refresh:
			state = "expired, refreshable"
		case r.LoggedIn && r.Expired:
			state = "expired"
		case r.LoggedIn:
			state = "logged in"
		}
		if r.ExpiresAt != nil {
			expires = r.ExpiresAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			safetext.Line(name), safetext.Line(r.Provider), safetext.Line(state), expires, safetext.Line(r.Backend))
	}
	return tw.Flush()
}
