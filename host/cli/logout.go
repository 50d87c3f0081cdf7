package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/safetext"
)

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens at the identity provider and delete them",
		Long: `Revoke the profile's refresh and access tokens at the identity provider (RFC
7009) where it offers revocation, then delete them from the token store. The
tokens are deleted even when the provider cannot be reached.`,
		Example: `  ` + g.opts.App + ` logout
  ` + g.opts.App + ` logout --profile work`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogout(cmd.Context(), g) },
	}
}

func runLogout(ctx context.Context, g *globals) error {
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	res, err := s.Logout(ctx)
	if err != nil {
		return err
	}
	w := g.io.ErrOut
	switch {
	case !res.WasLoggedIn:
		fmt.Fprintf(w, "Profile %q was not logged in.\n", s.Profile())
	case res.Revoked:
		fmt.Fprintf(w, "Logged out of profile %q: tokens revoked at the identity provider and deleted.\n", s.Profile())
	default:
		fmt.Fprintf(w, "Logged out of profile %q: tokens deleted, but not revoked at the identity provider: %s\n",
			s.Profile(), safetext.Line(fmt.Sprint(res.RevokeErr)))
	}
	return nil
}
