package amqstats

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// xmlMap is a JMS map message as ActiveMQ's jms-map-xml transformation
// (XStream) writes it:
//
//	<map><entry><string>size</string><long>3</long></entry>...</map>
type xmlMap struct {
	Entries []struct {
		Items []xmlItem `xml:",any"`
	} `xml:"entry"`
}

type xmlItem struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

// parseMap decodes one statistics reply. An empty map (<map/>) is the end of
// a list.
func parseMap(body []byte) (map[string]any, error) {
	var m xmlMap
	if err := xml.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decoding statistics reply: %w (body %q)", err, excerpt(body))
	}
	out := make(map[string]any, len(m.Entries))
	for _, e := range m.Entries {
		if len(e.Items) != 2 || e.Items[0].XMLName.Local != "string" {
			return nil, fmt.Errorf("decoding statistics reply: an entry is not <string>key</string><type>value</type> (body %q)", excerpt(body))
		}
		key, v := e.Items[0].Text, e.Items[1]
		val, err := typed(v.XMLName.Local, strings.TrimSpace(v.Text))
		if err != nil {
			return nil, fmt.Errorf("decoding statistics reply: %s: %w", key, err)
		}
		out[key] = val
	}
	return out, nil
}

// typed converts an XStream value element.
func typed(kind, text string) (any, error) {
	switch kind {
	case "long", "int", "short", "byte":
		return strconv.ParseInt(text, 10, 64)
	case "double", "float":
		return strconv.ParseFloat(text, 64)
	case "boolean":
		return strconv.ParseBool(text)
	case "null":
		return nil, nil
	default: // string, char and anything new: as text
		return text, nil
	}
}

// num reads a numeric statistic (0 when absent).
func num(m map[string]any, key string) int64 {
	switch v := m[key].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

// str reads a text statistic ("" when absent).
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func excerpt(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
