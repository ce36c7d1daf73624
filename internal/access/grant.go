package access

import "slices"

// A token never grants more than its maker may. Whoever creates, edits,
// rotates or deletes a token is a Maker, and both doors to tokens, the
// API and the web UI, ask the Maker before they call the Store.

// Maker is who creates or manages tokens, for the rule above.
type Maker struct {
	scopes []string
	every  bool
}

// TokenMaker is an access token acting through the API. It grants only
// scopes it holds, and it changes, rotates or deletes only tokens whose
// every scope it holds: so a tokens.manage token given to one
// integration can neither mint a more powerful token nor take over one by
// rotating it and reading the new secret.
func TokenMaker(t Token) Maker { return Maker{scopes: t.Scopes} }

// PersonMaker is a person signed in to the web UI with the right to
// manage private integrations (users.User.ManagesIntegrations). The right
// is the whole of it, as in HighLevel, where an admin with it chooses any
// scope: such a person may grant and manage every scope. The UI refuses
// everything to people without the right before it gets here.
func PersonMaker() Maker { return Maker{every: true} }

// Lacking lists, each once, the scopes among scopes that m may not grant
// (or hold on a token it manages). Names that are no scope at all are left
// to the Store, which says so field by field.
func (m Maker) Lacking(scopes []string) []string {
	if m.every {
		return nil
	}
	var out []string
	for _, sc := range scopes {
		if slices.Contains(AllScopes, sc) && !slices.Contains(m.scopes, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}
