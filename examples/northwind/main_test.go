package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
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
}

func TestInterpret(t *testing.T) {
	p := sdktest.New(Provider{})
	got, err := p.Interpret(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 202, Body: `{"status":"waiting"}`})
	if err != nil || got.Status != 400 || got.Body != `{"error":"authorization_pending"}` {
		t.Errorf("waiting → %+v, %v", got, err)
	}
}

func TestIdentity(t *testing.T) {
	id, err := sdktest.New(Provider{}).Identity(sdk.Claims{"sub": "nw-7", "nw:login": "ada", "nw:teams": []any{"ops"}}, sdk.Claims{"display_name": "Ada"})
	want := sdk.Identity{Subject: "nw-7", Username: "ada", Name: "Ada", Groups: []string{"ops"}}
	if err != nil || !cmp.Equal(id, want) {
		t.Errorf("identity = %+v, %v; want %+v", id, err, want)
	}
}
