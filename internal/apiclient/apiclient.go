package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client calls the API at BaseURL (e.g. "http://127.0.0.1:8080") with
// Token, through HTTP.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Post sends body as JSON to path and decodes the answer into out, or
// reads and drops it when out is nil. An answer other than want is an
// error.
func (c *Client) Post(ctx context.Context, path string, body any, want int, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding the body of POST %s: %w", path, err)
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(raw), want, out)
}

// Get reads path's answer, which must be 200, into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, http.StatusOK, out)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s answered %s: %s", method, path, resp.Status, msg)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
