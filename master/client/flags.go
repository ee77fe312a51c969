package client

import "flag"

// clientFlags adds the -master and -token flags every client command takes
// (defaults from env AGENTCLOUD_MASTER_URL and AGENTCLOUD_MASTER_TOKEN) and
// returns a function that builds the Client from them once parsed.
func clientFlags(fs *flag.FlagSet, getenv func(string) string) func() (*Client, error) {
	master := fs.String("master", envOr(getenv, "AGENTCLOUD_MASTER_URL", "http://127.0.0.1:8080"), "master base URL (env AGENTCLOUD_MASTER_URL)")
	token := fs.String("token", getenv("AGENTCLOUD_MASTER_TOKEN"), "API bearer token (env AGENTCLOUD_MASTER_TOKEN)")
	return func() (*Client, error) { return New(*master, *token) }
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
