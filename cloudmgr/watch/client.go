package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentcloud/agentcloud/master/api"
)

// maxBody bounds what is read of one master answer.
const maxBody = 32 << 20

// Client calls one master's HTTP API (DESIGN.md §4.5) with its bearer token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client for the master at baseURL. token may be empty
// (no Authorization header); hc nil means http.DefaultClient. Per-call
// timeouts come from the context.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: hc}
}

// Pools fetches GET /api/v1/pools.
func (c *Client) Pools(ctx context.Context) (api.PoolsResponse, error) {
	var out api.PoolsResponse
	err := c.do(ctx, http.MethodGet, api.PathPools, &out)
	return out, err
}

// Drain asks the master to drain an agent: it takes no new work, and the
// answer says whether it is idle now.
func (c *Client) Drain(ctx context.Context, agentID string) (api.DrainResponse, error) {
	var out api.DrainResponse
	err := c.do(ctx, http.MethodPost, fmt.Sprintf(api.PathAgentDrain, url.PathEscape(agentID)), &out)
	return out, err
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	u := c.base + path
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("building %s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Method: method, URL: u, Code: resp.StatusCode, Msg: errorMessage(body)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, u, err)
	}
	return nil
}

// StatusError is a non-2xx answer from the master.
type StatusError struct {
	Method, URL string
	// Code is the HTTP status code.
	Code int
	// Msg is the master's error message, or the start of its body.
	Msg string
}

// Error renders "GET url: 503 Service Unavailable: msg".
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// IsStatus reports whether err is a StatusError with that code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

// errorMessage extracts api.ErrorResponse.Error, or the body's start.
func errorMessage(body []byte) string {
	var e api.ErrorResponse
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
