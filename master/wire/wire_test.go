package wire

import (
	"reflect"
	"testing"
)

func TestReregisterRoundTrip(t *testing.T) {
	in := &Reregister{Type: TypeReregister, Reason: "master restarted"}
	body, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"type":"reregister","reason":"master restarted"}` {
		t.Errorf("encoded = %s", body)
	}
	out, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("decoded = %#v, want %#v", out, in)
	}
}
