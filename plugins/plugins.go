// Package plugins links idplug's built-in providers into a program. Each is
// a Go package written against sdk/ that registers itself with sdk.Register;
// the host imports this package, so every program that embeds it offers them
// all, called in-process. `make plugins` builds the same sources as
// WebAssembly modules and subprocess plugins (each provider's ./cmd).
package plugins

import (
	_ "github.com/idplug/idplug/plugins/auth0"    // provider "auth0"
	_ "github.com/idplug/idplug/plugins/cognito"  // provider "cognito"
	_ "github.com/idplug/idplug/plugins/entra"    // provider "entra"
	_ "github.com/idplug/idplug/plugins/github"   // provider "github"
	_ "github.com/idplug/idplug/plugins/gitlab"   // provider "gitlab"
	_ "github.com/idplug/idplug/plugins/google"   // provider "google"
	_ "github.com/idplug/idplug/plugins/keycloak" // provider "keycloak"
	_ "github.com/idplug/idplug/plugins/oidc"     // provider "oidc"
	_ "github.com/idplug/idplug/plugins/okta"     // provider "okta"
)
