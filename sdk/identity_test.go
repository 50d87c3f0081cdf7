package sdk_test

import (
	"encoding/json"
	"testing"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// tuned maps the identity with a setting: the claim that holds the groups.
type tuned struct{ example }

func (tuned) IdentityWithSettings(settings map[string]string, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	if name, ok := settings["groups_claim"]; ok {
		id.Groups = idTokenClaims.Strings(name)
	}
	return id, nil
}

func TestSettingsIdentifierGetsTheSettings(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"settings sent", `{"id_token_claims":{"sub":"u","groups":["g"],"https://x/roles":["r"]},"userinfo":{},"settings":{"groups_claim":"https://x/roles"}}`, []string{"r"}},
		{"no settings from an older host", `{"id_token_claims":{"sub":"u","groups":["g"]},"userinfo":{}}`, []string{"g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res wire.Result
			if err := json.Unmarshal(wire.Handle(tuned{}, wire.FuncIdentity, []byte(tc.input)), &res); err != nil || res.Error != "" {
				t.Fatalf("envelope %+v, %v", res, err)
			}
			var id sdk.Identity
			if err := json.Unmarshal(res.OK, &id); err != nil {
				t.Fatal(err)
			}
			if len(id.Groups) != len(tc.want) || (len(tc.want) > 0 && id.Groups[0] != tc.want[0]) {
				t.Errorf("groups %v, want %v", id.Groups, tc.want)
			}
		})
	}
}
