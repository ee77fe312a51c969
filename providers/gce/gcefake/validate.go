package gcefake

import (
	"regexp"
	"strings"
)

// Validation rules of the real API, as far as the fake models them.
var (
	nameRE        = regexp.MustCompile(`^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRE    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE  = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	metadataKeyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
)

// Limits of the real API.
const (
	maxLabels          = 64
	maxMetadataValue   = 256 << 10
	maxMetadataTotal   = 512 << 10
	maxListResults     = 500
	defaultListResults = 500
)

// checkName checks a resource name.
func checkName(field, name string) *apiError {
	if !nameRE.MatchString(name) {
		return errInvalid("Invalid value for field '%s': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", field, name)
	}
	return nil
}

// checkLabels checks label keys, values and count.
func checkLabels(field string, labels map[string]string) *apiError {
	if len(labels) > maxLabels {
		return errInvalid("Invalid value for field '%s': too many labels (%d, at most %d).", field, len(labels), maxLabels)
	}
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return errInvalid("Invalid value for field '%s': '%s'. Label keys must start with a lowercase letter and contain only lowercase letters, digits, '_' and '-', at most 63 characters.", field, k)
		}
		if !labelValueRE.MatchString(v) {
			return errInvalid("Invalid value for field '%s.%s': '%s'. Label values may contain only lowercase letters, digits, '_' and '-', at most 63 characters.", field, k, v)
		}
	}
	return nil
}

// checkMetadata checks metadata keys, value sizes and uniqueness.
func checkMetadata(m *Metadata) *apiError {
	if m == nil {
		return nil
	}
	total := 0
	seen := map[string]bool{}
	for i, it := range m.Items {
		if !metadataKeyRE.MatchString(it.Key) {
			return errInvalid("Invalid value for field 'resource.metadata.items[%d].key': '%s'. Must be a match of regex '[a-zA-Z0-9-_]{1,128}'", i, it.Key)
		}
		if seen[it.Key] {
			return errInvalid("Invalid value for field 'resource.metadata': duplicate key '%s'.", it.Key)
		}
		seen[it.Key] = true
		n := 0
		if it.Value != nil {
			n = len(*it.Value)
		}
		if n > maxMetadataValue {
			return errInvalid("Invalid value for field 'resource.metadata.items[%d].value': the value is %d bytes, at most %d.", i, n, maxMetadataValue)
		}
		total += len(it.Key) + n
	}
	if total >= maxMetadataTotal {
		return errInvalid("Invalid value for field 'resource.metadata': the metadata is %d bytes, it must be less than %d.", total, maxMetadataTotal)
	}
	return nil
}

// isImage reports whether s names an image (full URL or partial path, by
// name or family).
func isImage(s string) bool {
	return strings.Contains(s, "/global/images/") || strings.HasPrefix(s, "global/images/")
}
