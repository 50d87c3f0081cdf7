package config_test

import (
	"fmt"

	"github.com/idplug/idplug/internal/config"
)

func Example() {
	cfg, err := config.Parse("config.toml", []byte(`
[profiles.work]
provider  = "keycloak"
client_id = "my-cli-tool"
[profiles.work.settings]
realm = "my-realm"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := cfg.Profile("") // the only profile
	if err != nil {
		fmt.Println(err)
		return
	}
	realm, _ := p.Setting("realm")
	fmt.Println(p.Name, p.Provider, p.ClientID, p.Scopes == nil)
	fmt.Println(realm.Raw, realm.Type(), realm.Pos)
	fmt.Println(p.SettingError("url", `missing; add url = "https://…"`))
	// Output:
	// work keycloak my-cli-tool true
	// my-realm string config.toml:6
	// config.toml:2: profiles.work.settings.url: missing; add url = "https://…"
}

func ExampleErrors() {
	_, err := config.Parse("config.toml", []byte(`
default_profile = "work"
[profiles.work]
provider = "keycloak"
clientid = "my-cli-tool"
scopes   = "openid"
`))
	fmt.Println(err)
	// Output:
	// config.toml:3: profiles.work.client_id: missing; add client_id = "…", the client ID registered at the identity provider
	// config.toml:5: profiles.work.clientid: unknown key (did you mean "client_id"?)
	// config.toml:6: profiles.work.scopes: must be a list of strings, such as ["openid", "profile"], not a string
}
