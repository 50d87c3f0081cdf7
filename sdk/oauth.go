package sdk

import "encoding/json"

// OAuthError returns the "error" and "error_description" members of a JSON
// response body (RFC 6749 §5.2), or empty strings when it carries none.
// Interpret hooks use it to recognise a provider's non-standard errors.
func (r HTTPResponse) OAuthError() (code, description string) {
	var body struct {
		Error       any `json:"error"`
		Description any `json:"error_description"`
	}
	if json.Unmarshal([]byte(r.Body), &body) != nil {
		return "", ""
	}
	code, _ = body.Error.(string)
	description, _ = body.Description.(string)
	return code, description
}

// WithOAuthError returns r with the "error" member of its JSON body set to
// code and, when description is not empty, "error_description" set to it.
// Other members are kept; a body that is not a JSON object is replaced.
func (r HTTPResponse) WithOAuthError(code, description string) HTTPResponse {
	body := map[string]any{}
	if json.Unmarshal([]byte(r.Body), &body) != nil || body == nil {
		body = map[string]any{}
	}
	body["error"] = code
	if description != "" {
		body["error_description"] = description
	}
	b, _ := json.Marshal(body) // strings, and values decoded from JSON
	r.Body = string(b)
	return r
}
