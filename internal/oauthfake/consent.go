package oauthfake

import (
	"html/template"
	"net/http"
	"net/url"
)

// consent is an authorization request checked and waiting on the consent
// page for the user's answer; it is answered once.
type consent struct {
	back  *url.URL
	state string
	code  authCode
}

// consentPage asks the user, as a provider's own page would.
var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Allow access?</title></head>
<body>
<h1>{{.App}} wants access to your account</h1>
<p>{{.App}} wants access to: {{range $i, $s := .Scopes}}{{if $i}}, {{end}}<strong>{{$s}}</strong>{{else}}your account{{end}}</p>
<form method="post" action="/consent">
<input type="hidden" name="consent" value="{{.ID}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body>
</html>
`))

// askLocked keeps the checked request and shows the consent page.
func (p *Provider) askLocked(w http.ResponseWriter, req *consent) {
	id := newSecret("consent-")
	p.consents[id] = req
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentPage.Execute(w, map[string]any{"App": p.opts.AppName, "Scopes": req.code.scopes, "ID": id})
}

// consent is the consent page's answer: Allow issues the code, Deny sends
// the browser back with access_denied. A consent is answered once.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	form, err := readForm(r)
	if err != nil {
		page(w, http.StatusBadRequest, "invalid_request", "the consent form does not parse")
		return
	}
	req, ok := p.consents[form.Get("consent")]
	if !ok {
		page(w, http.StatusBadRequest, "invalid_request", "this consent was already answered or never asked")
		return
	}
	delete(p.consents, form.Get("consent"))
	switch form.Get("decision") {
	case "allow":
		p.approveLocked(w, r, req)
	case "deny":
		p.redirectLocked(w, r, req.back, url.Values{"error": {"access_denied"}, "error_description": {"the user denied access"}}, req.state)
	default:
		page(w, http.StatusBadRequest, "invalid_request", "decision must be allow or deny")
	}
}
