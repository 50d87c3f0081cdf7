package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// builds returns Northwind as the tests call it: in-process, and, when
// NORTHWIND_WASM names a WebAssembly build of it (in any language, such as
// examples/northwind-rust), that module too. Every build must pass the same
// tests.
func builds(t *testing.T) map[string]*sdktest.Plugin {
	out := map[string]*sdktest.Plugin{"in-process": sdktest.New(Provider{})}
	if path := os.Getenv("NORTHWIND_WASM"); path != "" {
		out["wasm "+filepath.Base(path)] = sdktest.Wasm(t, path)
	}
	return out
}

func TestConfigure(t *testing.T) {
	for name, p := range builds(t) {
		t.Run(name, func(t *testing.T) {
			spec, errs, err := p.Configure(map[string]string{"tenant": "contoso", "api": "https://api.contoso.example"}, sdk.Client{ClientID: "cli"})
			if err != nil || len(errs) > 0 {
				t.Fatal(err, errs)
			}
			if spec.Endpoints.Token != "https://contoso.northwind-id.example/oauth2/token" || len(spec.ExtraParams) != 1 {
				t.Errorf("spec = %+v", spec)
			}
			for settings, want := range map[string]string{"": "tenant: is required", "contoso.example": "not a URL", "http://x": "not a URL"} {
				_, errs, _ := p.Configure(map[string]string{"tenant": settings}, sdk.Client{})
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), want) {
					t.Errorf("tenant %q: %v, want %q", settings, errs, want)
				}
			}
		})
	}
}

func TestInterpret(t *testing.T) {
	for name, p := range builds(t) {
		t.Run(name, func(t *testing.T) {
			got, err := p.Interpret(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 202, Body: `{"status":"waiting"}`})
			if err != nil || got.Status != 400 || got.Body != `{"error":"authorization_pending"}` {
				t.Errorf("waiting → %+v, %v", got, err)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	for name, p := range builds(t) {
		t.Run(name, func(t *testing.T) {
			id, err := p.Identity(sdk.Claims{"sub": "nw-7", "nw:login": "ada", "nw:teams": []any{"ops"}}, sdk.Claims{"display_name": "Ada"})
			want := sdk.Identity{Subject: "nw-7", Username: "ada", Name: "Ada", Groups: []string{"ops"}}
			if err != nil || !cmp.Equal(id, want) {
				t.Errorf("identity = %+v, %v; want %+v", id, err, want)
			}
		})
	}
}
