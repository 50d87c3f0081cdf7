package sdk

// StandardIdentity maps the standard OpenID Connect claims (OIDC Core §5.1):
// sub, preferred_username, name, email, and a "groups" list. Userinfo values
// win over ID token values, except sub, which must match.
func StandardIdentity(idTokenClaims, userinfo Claims) Identity {
	c := Merge(idTokenClaims, userinfo)
	id := Identity{
		Subject:  c.String("sub"),
		Username: c.String("preferred_username"),
		Name:     c.String("name"),
		Email:    c.String("email"),
		Groups:   c.Strings("groups"),
	}
	if s := idTokenClaims.String("sub"); s != "" {
		id.Subject = s
	}
	if id.Username == "" {
		id.Username = id.Email
	}
	return id
}

// Merge returns the claims of all sets, later sets overriding earlier ones.
func Merge(sets ...Claims) Claims {
	out := Claims{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

// String returns the claim name as a string, or "" when absent or not a string.
func (c Claims) String(name string) string {
	s, _ := c[name].(string)
	return s
}

// Strings returns the claim name as a list of strings. A single string becomes
// a one-element list; other values are ignored.
func (c Claims) Strings(name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// Object returns the claim name as a nested claims object, such as
// Keycloak's realm_access, or nil when absent or not an object.
func (c Claims) Object(name string) Claims {
	switch v := c[name].(type) {
	case map[string]any:
		return v
	case Claims:
		return v
	}
	return nil
}
