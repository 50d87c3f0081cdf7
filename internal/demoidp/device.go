package demoidp

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
)

var devicePage = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>demoidp – {{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{- if .Message}}
<p>{{.Message}}</p>
{{- end}}
{{- if .Form}}
<p>Enter the code shown by your device and choose who you are.
This is a demo identity provider: there are no passwords.</p>
<form method="post" action="/device">
<p><label>Code <input name="user_code" value="{{.UserCode}}" autocomplete="off" autofocus required></label></p>
<p><label>User <select name="user">
{{- range .Users}}
<option value="{{.Username}}">{{.Name}} ({{.Username}})</option>
{{- end}}
</select></label></p>
<p><button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button></p>
</form>
{{- end}}
</body>
</html>
`))

type devicePageData struct {
	Title, Message, UserCode string
	Form                     bool
	Users                    []User
}

func renderDevice(w http.ResponseWriter, status int, d devicePageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	devicePage.Execute(w, d)
}

// serveDevice is the verification page: GET shows the form, POST with
// user_code, user and action=approve|deny decides the authorization.
func (s *Server) serveDevice(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		renderDevice(w, http.StatusOK, devicePageData{
			Title:    "Connect a device",
			UserCode: strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("user_code"))),
			Form:     true,
			Users:    users,
		})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	code := r.PostFormValue("user_code")
	var err error
	var msg string
	switch action := r.PostFormValue("action"); action {
	case "approve":
		username := r.PostFormValue("user")
		if err = s.Approve(code, username); err == nil {
			u, _ := userByName(username)
			msg = "Signed in as " + u.Name + ". You can return to your device."
		}
	case "deny":
		if err = s.Deny(code); err == nil {
			msg = "The request was denied. You can close this page."
		}
	default:
		err = errors.New(`action must be "approve" or "deny"`)
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrUserCodeUsed) {
			status = http.StatusConflict
		}
		renderDevice(w, status, devicePageData{
			Title:    "Error",
			Message:  "Could not complete the request: " + err.Error() + ".",
			UserCode: strings.ToUpper(strings.TrimSpace(code)),
			Form:     true,
			Users:    users,
		})
		return
	}
	title := "Device approved"
	if r.PostFormValue("action") == "deny" {
		title = "Device denied"
	}
	renderDevice(w, http.StatusOK, devicePageData{Title: title, Message: msg})
}
