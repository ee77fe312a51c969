package amqstats

import (
	"reflect"
	"strings"
	"testing"
)

// A destination reply as ActiveMQ 5.17 sends it with transformation:jms-map-xml.
const destinationReply = `<map>
  <entry>
    <string>dequeueCount</string>
    <long>0</long>
  </entry>
  <entry>
    <string>brokerId</string>
    <string>ID:vm-41303-1795570250261-0:1</string>
  </entry>
  <entry>
    <string>minEnqueueTime</string>
    <double>33.0</double>
  </entry>
  <entry>
    <string>memoryPercentUsage</string>
    <int>0</int>
  </entry>
  <entry>
    <string>size</string>
    <long>3</long>
  </entry>
  <entry>
    <string>destinationName</string>
    <string>queue://jobs.linux</string>
  </entry>
  <entry>
    <string>slowConsumer</string>
    <boolean>false</boolean>
  </entry>
  <entry>
    <string>selector</string>
    <null/>
  </entry>
</map>`

func TestParseMap(t *testing.T) {
	got, err := parseMap([]byte(destinationReply))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"dequeueCount": int64(0), "brokerId": "ID:vm-41303-1795570250261-0:1", "minEnqueueTime": 33.0,
		"memoryPercentUsage": int64(0), "size": int64(3), "destinationName": "queue://jobs.linux",
		"slowConsumer": false, "selector": nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMap = %#v\nwant %#v", got, want)
	}
	if num(got, "size") != 3 || num(got, "minEnqueueTime") != 33 || num(got, "absent") != 0 {
		t.Error("num reads the wrong values")
	}
	if str(got, "destinationName") != "queue://jobs.linux" || str(got, "size") != "" {
		t.Error("str reads the wrong values")
	}
}

func TestParseMapEndAndErrors(t *testing.T) {
	for _, end := range []string{"<map/>", "<map></map>", "<map>\n</map>"} {
		m, err := parseMap([]byte(end))
		if err != nil || len(m) != 0 {
			t.Errorf("parseMap(%q) = %v, %v; want an empty map (the end of a list)", end, m, err)
		}
	}
	for body, want := range map[string]string{
		"":           "decoding statistics reply",
		`{"map":""}`: "decoding statistics reply",
		"<map><entry><long>1</long></entry></map>":                                   "not <string>key</string>",
		"<map><entry><string>size</string><long>x</long></entry></map>":              "size",
		"<map><entry><string>a</string><string>b</string><int>1</int></entry></map>": "not <string>key</string>",
	} {
		_, err := parseMap([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseMap(%q) = %v, want an error containing %q", body, err, want)
		}
	}
}
