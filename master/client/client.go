// Package client talks to a master's HTTP API: submit a composition, read
// it, and follow its output until it ends. `master submit` is built on it.
package client

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
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/master/httpapi"
)

// Client calls one master.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the master at baseURL (e.g. http://127.0.0.1:8080)
// sending token as bearer token (empty: none).
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("master URL %q: want http://host:port or https://host:port", baseURL)
	}
	return &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		http:  &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// APIError is an error answer of the master.
type APIError struct {
	Status  int
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("master answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Submit sends a composition.
func (c *Client) Submit(ctx context.Context, req api.CompositionRequest) (api.Composition, error) {
	var out api.Composition
	if err := c.call(ctx, http.MethodPost, api.PathCompositions, req, &out); err != nil {
		return api.Composition{}, fmt.Errorf("submitting composition: %w", err)
	}
	return out, nil
}

// Get reads a composition with its output.
func (c *Client) Get(ctx context.Context, id string) (api.Composition, error) {
	var out api.Composition
	if err := c.call(ctx, http.MethodGet, api.PathCompositions+"/"+url.PathEscape(id), nil, &out); err != nil {
		return api.Composition{}, fmt.Errorf("reading composition %s: %w", id, err)
	}
	return out, nil
}

// Output reads the output lines of a composition after a cursor.
func (c *Client) Output(ctx context.Context, id string, after int64) (httpapi.OutputPage, error) {
	var out httpapi.OutputPage
	path := fmt.Sprintf(httpapi.PathCompositionOutput, url.PathEscape(id)) + fmt.Sprintf("?after=%d", after)
	if err := c.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		return httpapi.OutputPage{}, fmt.Errorf("reading output of composition %s: %w", id, err)
	}
	return out, nil
}

// Follow polls a composition's output every interval, calling line for each
// new line, until the composition is final; it returns its last page (state
// and error). Network trouble and server errors are retried (reported through
// retrying, which may be nil); an error answer such as 404 ends it.
func (c *Client) Follow(ctx context.Context, id string, interval time.Duration,
	line func(httpapi.OutputLine), retrying func(error)) (httpapi.OutputPage, error) {
	var after int64
	for {
		page, err := c.Output(ctx, id, after)
		var apiErr *APIError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return httpapi.OutputPage{}, ctx.Err()
		case errors.As(err, &apiErr) && apiErr.Status < 500:
			return httpapi.OutputPage{}, err
		default:
			if retrying != nil {
				retrying(err)
			}
		}
		if err == nil {
			for _, l := range page.Lines {
				line(l)
			}
			after = page.Next
			if page.More {
				continue
			}
			if page.State.Final() {
				return page, nil
			}
		}
		select {
		case <-ctx.Done():
			return httpapi.OutputPage{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var er api.ErrorResponse
		if json.Unmarshal(data, &er) != nil || er.Error == "" {
			er.Error = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: er.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding answer: %w", err)
	}
	return nil
}
