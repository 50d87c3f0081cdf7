package engine

import (
	"fmt"
	"regexp"
	"strings"
)

// An issuer template is a provider spec's issuer with {name} placeholders,
// each standing for the ID token's own string claim name: Microsoft Entra's
// multi-tenant issuer https://login.microsoftonline.com/{tid}/v2.0 (see
// wit/idplug.wit, provider-spec.issuer).
var placeholder = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)

// isTemplate reports whether issuer has a placeholder.
func isTemplate(issuer string) bool { return placeholder.MatchString(issuer) }

// matchesTemplate reports whether got, a discovery document's issuer, fits
// template: its text outside the placeholders equal, each placeholder
// standing for one non-empty value without a slash (a tenant's ID, or the
// document's own placeholder such as Entra's {tenantid}).
func matchesTemplate(template, got string) bool {
	var pattern strings.Builder
	pattern.WriteString("^")
	last := 0
	for _, m := range placeholder.FindAllStringIndex(template, -1) {
		pattern.WriteString(regexp.QuoteMeta(template[last:m[0]]))
		pattern.WriteString("[^/]+")
		last = m[1]
	}
	pattern.WriteString(regexp.QuoteMeta(template[last:]) + "$")
	return regexp.MustCompile(pattern.String()).MatchString(got)
}

// fillTemplate returns template with each placeholder replaced by the
// token's claim of that name, which must be a non-empty string without a
// slash or brace.
func fillTemplate(template string, claims map[string]any) (string, error) {
	var err error
	filled := placeholder.ReplaceAllStringFunc(template, func(p string) string {
		name := p[1 : len(p)-1]
		v, _ := claims[name].(string)
		if v == "" || strings.ContainsAny(v, "/{}") {
			if err == nil {
				err = fmt.Errorf("its issuer is the template %q, but the token has no usable %q claim", template, name)
			}
			return p
		}
		return v
	})
	return filled, err
}
