package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/safetext"
)

type tokenOptions struct {
	json    bool
	idToken bool
}

func newTokenCmd(g *globals) *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a valid access token, refreshing it when needed",
		Long: `Print the profile's access token on stdout, refreshing it first when it is
about to expire. A cached, valid token is printed without contacting the
identity provider. Nothing but the token goes to stdout.

Exits 3 when the profile is not logged in, or its session can no longer be
refreshed: run ` + g.opts.App + ` login.`,
		Example: `  curl -H "Authorization: Bearer $(` + g.opts.App + ` token)" https://api.example.com/
  ` + g.opts.App + ` token --id-token
  ` + g.opts.App + ` token --json | jq .expiry`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runToken(cmd.Context(), g, o) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print the token, its type and expiry as JSON")
	cmd.Flags().BoolVar(&o.idToken, "id-token", false, "print the ID token instead of the access token")
	return cmd
}

func runToken(ctx context.Context, g *globals, o tokenOptions) error {
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	if o.idToken && !o.json {
		idToken, _, err := s.IDToken(ctx) // refreshed when the ID token expires, too
		if err != nil {
			return err
		}
		fmt.Fprintln(g.io.Out, safetext.Line(idToken))
		return nil
	}
	tok, err := s.Token(ctx)
	if err != nil {
		return err
	}
	idToken, _ := tok.Extra("id_token").(string)
	if o.idToken && idToken == "" {
		return fmt.Errorf("profile %q has no ID token; add the openid scope to the profile and log in again", s.Profile())
	}
	if o.json {
		v := map[string]any{"access_token": tok.AccessToken, "token_type": tok.Type()}
		if !tok.Expiry.IsZero() {
			v["expiry"] = tok.Expiry.UTC().Format(time.RFC3339)
		}
		if idToken != "" {
			v["id_token"] = idToken
		}
		writeJSON(g.io.Out, v)
		return nil
	}
	// Tokens are visible ASCII (RFC 6749 §A.12; an ID token is a JWT), which
	// safetext.Line leaves as it is: it only defuses a token that is not,
	// and so could not be sent anyway, before it reaches a terminal.
	fmt.Fprintln(g.io.Out, safetext.Line(tok.AccessToken))
	return nil
}
