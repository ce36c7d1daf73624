package ui

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/users"
	"github.com/liaison/liaison/jobs"
)

func TestOptionsNameWhatIsMissing(t *testing.T) {
	_, err := New(Options{})
	assert.EqualError(t, err, "ui: Options.Users is required")
	_, err = New(Options{Users: &users.Service{}, Connections: &connections.Service{}, Tokens: &access.Store{}, Hooks: &hooks.Service{}, Calls: &calls.Service{}, Imports: &importer.Store{}, Jobs: &jobs.Client{}})
	assert.EqualError(t, err, "ui: Options.PublicURL is required")
}

func TestTheCookieIsSecureUnderHTTPS(t *testing.T) {
	for url, secure := range map[string]bool{"https://liaison.example": true, "http://localhost:8080": false} {
		h, err := New(Options{Users: &users.Service{}, Connections: &connections.Service{}, Tokens: &access.Store{}, Hooks: &hooks.Service{}, Calls: &calls.Service{}, Imports: &importer.Store{}, Jobs: &jobs.Client{}, PublicURL: url})
		require.NoError(t, err)
		c := h.cookie("id.secret", 60)
		assert.Equal(t, secure, c.Secure, url)
		assert.True(t, c.HttpOnly)
		assert.Equal(t, "/", c.Path)
	}
}

func TestNextIsAPathOnThisSite(t *testing.T) {
	for next, want := range map[string]string{
		"/connections?after=x": "/connections?after=x", "/users": "/users", "": "/connections",
		"//evil.example/x": "/connections", "/\\evil.example": "/connections", "https://evil.example/": "/connections",
		"javascript:alert(1)": "/connections", "connections": "/connections", "/a\r\nSet-Cookie: x": "/connections",
	} {
		assert.Equal(t, want, nextPath(next), "next=%q", next)
	}
}
