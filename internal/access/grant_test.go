package access_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
)

func TestATokenGrantsOnlyTheScopesItHolds(t *testing.T) {
	maker := access.TokenMaker(access.Token{Scopes: []string{access.ScopeTokensManage, access.ScopeHooksRead}})
	require.Empty(t, maker.Lacking([]string{access.ScopeHooksRead, access.ScopeTokensManage}))
	require.Equal(t, []string{access.ScopeEventsWrite}, maker.Lacking([]string{access.ScopeHooksRead, access.ScopeEventsWrite, access.ScopeEventsWrite}),
		"each missing scope once")
	require.Empty(t, maker.Lacking([]string{"no.such.scope"}), "a name that is no scope is the store's to refuse")
}

func TestAPersonWithTheRightGrantsEveryScope(t *testing.T) {
	require.Empty(t, access.PersonMaker().Lacking(access.AllScopes))
}

func TestCheckValidatesOnlyTheFieldsSet(t *testing.T) {
	require.NoError(t, access.Input{Name: new("Zapier"), Description: new("")}.Check(), "no scopes yet is fine")
	err := access.Input{Name: new(" ")}.Check()
	require.Error(t, err)
	require.Contains(t, err.Error(), "name")
}
