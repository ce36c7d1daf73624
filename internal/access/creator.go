package access

import (
	"database/sql"
	"strings"
)

// Who made a token, as Create's createdBy is given. The stored value says
// what made it; Token.Creator says it in words for a page.
const (
	creatorUser  = "user:"
	creatorToken = "token:"
	creatorCLI   = "cli:"
	// creatorDev is what liaison dev gives for the token it prints.
	creatorDev = "liaison dev"
)

// ByUser is createdBy for a token a signed-in user made in the web UI:
// Token.Creator shows their email.
func ByUser(email string) string { return creatorUser + email }

// ByToken is createdBy for a token made through the API with the access
// token id: Token.Creator shows "API token <its name>".
func ByToken(id string) string { return creatorToken + id }

// ByCommandLine is createdBy for a token made on the command line by the
// operating-system user who: Token.Creator shows "command line".
func ByCommandLine(who string) string { return creatorCLI + who }

// makerName is the column, read after a token's own, that holds the name
// of the access token that made it (NULL when no token made it, or it is
// gone). It refers to the outer access_tokens.
const makerName = `(SELECT m.name FROM access_tokens m
	WHERE access_tokens.created_by LIKE 'token:%' AND m.id = substr(access_tokens.created_by, 7))`

// creatorWords says who made a token, from what Create was given and the
// name of the token that made it, if one did.
func creatorWords(createdBy string, maker sql.NullString) string {
	switch {
	case strings.HasPrefix(createdBy, creatorUser):
		return strings.TrimPrefix(createdBy, creatorUser)
	case strings.HasPrefix(createdBy, creatorToken):
		if maker.Valid {
			return "API token " + maker.String
		}
		return "an API token since deleted"
	case strings.HasPrefix(createdBy, creatorCLI), createdBy == creatorDev:
		return "command line"
	}
	return createdBy
}
