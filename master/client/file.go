package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/agentcloud/agentcloud/master/api"
)

// ReadRequestFile reads a composition request from a YAML or JSON file ("-"
// is standard input). Unknown keys are errors, with their line.
func ReadRequestFile(path string, stdin io.Reader) (api.CompositionRequest, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return api.CompositionRequest{}, fmt.Errorf("reading composition file %s: %w", path, err)
	}
	req, err := ParseRequest(data)
	if err != nil {
		return api.CompositionRequest{}, fmt.Errorf("composition file %s: %w", path, err)
	}
	return req, nil
}

// ParseRequest reads a composition request from YAML or JSON (JSON is YAML).
func ParseRequest(data []byte) (api.CompositionRequest, error) {
	var req api.CompositionRequest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&req); err != nil {
		if errors.Is(err, io.EOF) {
			return req, errors.New("empty: want a composition (pool, tasks, ...)")
		}
		return req, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return req, errors.New("holds more than one YAML document; want one composition")
	}
	return req, nil
}
