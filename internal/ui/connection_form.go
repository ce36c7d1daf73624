package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/invalid"
)

// connectionFields are the connection form's one-value fields, named as
// the domain names them, so that its *invalid.Error lands next to each.
var connectionFields = []string{"name", "description", "client_id", "client_secret", "authorization_url", "token_url",
	"scopes", "discovery_url", "client_auth", "pkce", "base_url", "allowed_hosts", "test_path", "token",
	"api_key.in", "api_key.name", "api_key.value", "headers", "authorization_params"}

// secretFields are the secrets of a connection: never written into a
// page, and on an edit left unchanged when left empty.
var secretFields = []string{"client_secret", "token", "api_key.value"}

// rowGroups are the fields given as rows of key-value pairs, and the
// fields of the domain's errors about one of their items.
var rowGroups = map[string]string{"headers.": "headers", "authorization_params.": "authorization_params",
	"allowed_hosts[": "allowed_hosts", "scopes[": "scopes"}

// emptyRows is how many empty rows a key-value list offers.
const emptyRows = 2

// connectionTypes are the types "+ Create" offers, in plain words.
var connectionTypes = []connectionType{
	{connections.AuthOAuth2Code, "OAuth2 — sign in at the other service (authorization code)",
		"You sign in at the other service once and allow Liaison access; Liaison keeps the token fresh."},
	{connections.AuthOAuth2ClientCredentials, "OAuth2 — client credentials (server to server)",
		"Liaison gets its own token from the other service with a client id and secret; nobody signs in."},
	{connections.AuthBearer, "Bearer token", "The other service gave you a token (an access token or private integration token)."},
	{connections.AuthAPIKey, "API key", "The other service gave you an API key, sent in a header or in the address."},
}

// connectionType is one auth type as "+ Create" offers it.
type connectionType struct {
	ID, Name, About string
}

// typeNamed is the type with this id, if it is one.
func typeNamed(id string) (connectionType, bool) {
	i := slices.IndexFunc(connectionTypes, func(t connectionType) bool { return t.ID == id })
	if i < 0 {
		return connectionType{}, false
	}
	return connectionTypes[i], true
}

// connectionForm is the create and edit form of one type of connection.
type connectionForm struct {
	*form
	Type connectionType
	// ID is the connection edited; "" on create.
	ID string
	// RedirectURI is what to register at the other service.
	RedirectURI string
	// Saved are the secrets the connection holds (edit): their fields say
	// so and are left unchanged when left empty.
	Saved   map[string]bool
	Headers []row
	Params  []row
}

// row is one key-value pair of a list of rows.
type row struct{ Key, Value string }

// OAuth, Code, Bearer and APIKey say which of the type's fields to show.
func (f *connectionForm) OAuth() bool  { return connections.IsOAuth(f.Type.ID) }
func (f *connectionForm) Code() bool   { return f.Type.ID == connections.AuthOAuth2Code }
func (f *connectionForm) Bearer() bool { return f.Type.ID == connections.AuthBearer }
func (f *connectionForm) APIKey() bool { return f.Type.ID == connections.AuthAPIKey }

// Fields is the form itself, for the "field" and "problems" templates.
func (f *connectionForm) Fields() *form { return f.form }

// secretView is what the "secret" template shows.
type secretView struct {
	Name, Label, Error string
	Saved              bool
}

// secretField is the template function behind {{template "secret"
// (secretField $f "client_secret" "Client secret")}}.
func secretField(f *connectionForm, name, label string) secretView {
	return secretView{Name: name, Label: label, Error: f.Error(name, label), Saved: f.Saved[name]}
}

// rowsView is what the "rows" template shows.
type rowsView struct {
	Name, Label, Hint, Item, Error string
	Rows                           []row
}

// rowsField is the template function behind {{template "rows" (rows $f
// "headers" "Fixed headers" "hint" "Header" $f.ShownHeaders)}}.
func rowsField(f *connectionForm, name, label, hint, item string, rows []row) rowsView {
	return rowsView{Name: name, Label: label, Hint: hint, Item: item, Rows: rows, Error: f.Error(name, label)}
}

// Value is what the field holds; Error its error in plain words.
func (f *connectionForm) Value(name string) string { return f.value(name) }
func (f *connectionForm) Error(name, label string) string {
	return field(f.form, name, label, "text", "").Error
}

// newConnectionForm reads a posted form (or starts an empty one) of type t.
func newConnectionForm(r *http.Request, t connectionType, redirectURI string) *connectionForm {
	f := &connectionForm{form: newForm(r, connectionFields...), Type: t, RedirectURI: redirectURI, Saved: map[string]bool{}}
	if r.Method == http.MethodPost {
		f.Headers = postedRows(r, "headers")
		f.Params = postedRows(r, "authorization_params")
	} else {
		f.set("pkce", "on")
		f.set("client_auth", connections.ClientSecretBasic)
		f.set("api_key.in", connections.APIKeyInHeader)
	}
	return f
}

// postedRows are the rows of a key-value list as posted: name.key and
// name.value, in order.
func postedRows(r *http.Request, name string) []row {
	keys, values := r.PostForm[name+".key"], r.PostForm[name+".value"]
	var out []row
	for i, k := range keys {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		out = append(out, row{Key: strings.TrimSpace(k), Value: v})
	}
	return out
}

// fill shows a stored connection in the form (edit).
func (f *connectionForm) fill(v connections.View) {
	for name, value := range map[string]string{"name": v.Name, "description": v.Description, "base_url": v.BaseURL,
		"allowed_hosts": strings.Join(v.AllowedHosts, ", "), "test_path": v.TestPath, "client_id": v.ClientID,
		"authorization_url": v.AuthorizationURL, "token_url": v.TokenURL, "discovery_url": v.DiscoveryURL,
		"scopes": strings.Join(v.Scopes, " "), "client_auth": v.ClientAuth} {
		f.set(name, value)
	}
	f.set("pkce", "")
	if v.PKCE != nil && *v.PKCE {
		f.set("pkce", "on")
	}
	if v.APIKey != nil {
		f.set("api_key.in", v.APIKey.In)
		f.set("api_key.name", v.APIKey.Name)
	}
	f.Headers = sortedRows(v.Headers)
	f.Params = sortedRows(v.AuthorizationParams)
}

func sortedRows(m map[string]string) []row {
	var out []row
	for k, v := range m {
		out = append(out, row{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b row) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// withEmptyRows adds the empty rows a person fills.
func withEmptyRows(rows []row) []row {
	out := slices.Clone(rows)
	for range emptyRows {
		out = append(out, row{})
	}
	return out
}

// ShownHeaders and ShownParams are the rows to show: the typed ones and a
// few empty ones.
func (f *connectionForm) ShownHeaders() []row { return withEmptyRows(f.Headers) }
func (f *connectionForm) ShownParams() []row  { return withEmptyRows(f.Params) }

// input is the connection the form describes. On an edit a secret left
// empty is left out, so the stored one is kept. A row with a value but no
// name is an error of the form's own.
func (f *connectionForm) input() connections.Input {
	text := func(name string) *string { return new(strings.TrimSpace(f.value(name))) }
	in := connections.Input{Name: text("name"), Description: text("description"), BaseURL: text("base_url"),
		TestPath: text("test_path"), AllowedHosts: new(words(f.value("allowed_hosts"))), Headers: f.rowsMap("headers", "Fixed headers", f.Headers)}
	if f.ID == "" {
		in.AuthType = new(f.Type.ID)
	}
	secret := func(name string) *string {
		if v := f.value(name); v != "" || f.ID == "" {
			return new(v)
		}
		return nil
	}
	switch {
	case f.OAuth():
		in.ClientID, in.ClientSecret = text("client_id"), secret("client_secret")
		in.TokenURL, in.DiscoveryURL = text("token_url"), text("discovery_url")
		in.Scopes, in.ClientAuth = new(words(f.value("scopes"))), text("client_auth")
		if f.Code() {
			in.AuthorizationURL = text("authorization_url")
			in.PKCE = new(f.value("pkce") == "on")
			in.AuthorizationParams = f.rowsMap("authorization_params", "Extra authorization parameters", f.Params)
		}
	case f.Bearer():
		in.Token = secret("token")
	case f.APIKey():
		in.APIKey = &connections.APIKeyInput{In: text("api_key.in"), Name: text("api_key.name"), Value: secret("api_key.value")}
	}
	return in
}

// rowsMap is a list of rows as a map; a row with a value and no name is
// the field's error.
func (f *connectionForm) rowsMap(name, label string, rows []row) *map[string]string {
	m := map[string]string{}
	for _, r := range rows {
		switch {
		case r.Key != "":
			m[r.Key] = r.Value
		case strings.TrimSpace(r.Value) != "":
			f.invalid(name, label+": a row has a value but no name; give it a name or empty it.")
		}
	}
	return &m
}

// words splits a list typed with spaces, commas or one item a line.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// fromDomain takes the domain's field errors: an error about one header,
// parameter, host or scope is shown next to its list, naming the item.
func (f *connectionForm) fromDomain(err error) bool {
	ie, ok := invalid.As(err)
	if !ok {
		return false
	}
	rest := &invalid.Error{}
	for _, fe := range ie.Fields {
		group := ""
		for prefix, g := range rowGroups {
			if strings.HasPrefix(fe.Field, prefix) {
				group = g
				item := strings.TrimSuffix(strings.TrimPrefix(fe.Field, prefix), "]")
				if strings.HasSuffix(prefix, "[") { // an index into the typed list: name the item typed
					var i int
					if _, err := fmt.Sscan(item, &i); err == nil && i < len(words(f.value(g))) {
						item = words(f.value(g))[i]
					}
				}
				if _, seen := f.errs[group]; !seen {
					f.invalid(group, sentence(fmt.Sprintf("%q", item), fe.Message))
				}
			}
		}
		if group == "" {
			rest.Add(fe.Field, "%s", fe.Message)
		}
	}
	if len(rest.Fields) > 0 {
		f.from(rest)
	}
	return true
}
