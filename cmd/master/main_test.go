package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestSubcommands(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"launch"}, 2, `unknown subcommand "launch"`},
		{[]string{"help"}, 0, "usage: master"},
		{[]string{"submit"}, 2, "-f composition file is required"},
		{[]string{"cancel"}, 2, "name at least one composition id"},
		{[]string{"cancel", "-master", "ftp://x", "c-1"}, 2, "want http://host:port"},
		{[]string{"serve", "-listen", "nope"}, 2, "-listen: want host:port"},
		{[]string{"-listen", "nope"}, 2, "-listen: want host:port"}, // serve is the default
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader(""), &out, &errs)
		if code != c.code || !strings.Contains(out.String()+errs.String(), c.want) {
			t.Errorf("master %v: exit %d, output %q; want %d and %q", c.args, code, out.String()+errs.String(), c.code, c.want)
		}
	}
}
