package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/master/config"
)

func jsonDecode(resp *http.Response, out any) error {
	return json.NewDecoder(resp.Body).Decode(out)
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// config0 is an insecure master config on free ports.
func config0(dir string) config.Serve {
	return config.Serve{
		Listen:           "127.0.0.1:0",
		BrokerListen:     "127.0.0.1:0",
		DataDir:          dir,
		Prefix:           "bench",
		Insecure:         true,
		AcceptTimeout:    15 * time.Second,
		HeartbeatTimeout: 30 * time.Second,
	}
}
