package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/server/client"
)

// Embedded broker tuning.
const (
	// DefaultEmbeddedAddr is where StartEmbedded listens when addr is empty.
	DefaultEmbeddedAddr = "127.0.0.1:61613"
	// serverWriteTimeout bounds every write to a client, so a peer that
	// stopped reading (a suspended machine) is dropped instead of stalling
	// the broker.
	serverWriteTimeout = 15 * time.Second
	// serverMinHeartBeat is the shortest heart-beat the broker accepts; a
	// client asking for less gets this.
	serverMinHeartBeat = 100 * time.Millisecond
	// serverCloseWait bounds how long Close waits for connections to wind down.
	serverCloseWait = 5 * time.Second
	// serverRequestBuffer is the request channel size between connections and
	// the dispatch loop (go-stomp's own server uses 128).
	serverRequestBuffer = 1024
)

// Server is the embedded STOMP broker: in-memory queues (/queue/...: each
// message to one subscriber) and topics (anything else: each message to every
// subscriber), no authentication, ack:auto only. It listens on 127.0.0.1 or
// wherever the master is configured to.
type Server struct {
	ln   net.Listener
	log  *slog.Logger
	reqs chan client.Request

	acceptDone chan struct{} // closed when the accept loop returns
	stop       chan struct{} // closed by Close: dispatch winds down
	done       chan struct{} // closed when the dispatch loop returns
	closeOnce  sync.Once

	mu       sync.Mutex
	stopping bool
	conns    map[*serverConn]struct{} // open client connections
	live     int                      // connections not yet reported disconnected
}

// StartEmbedded starts a broker listening on addr (host:port; port 0 picks a
// free one; empty means DefaultEmbeddedAddr). It listens before returning.
// ctx bounds the start only; the broker runs until Close.
func StartEmbedded(ctx context.Context, addr string, log *slog.Logger) (*Server, error) {
	if addr == "" {
		addr = DefaultEmbeddedAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting embedded STOMP broker on %s: %w", addr, err)
	}
	log = orDiscard(log).With("broker", "embedded", "addr", ln.Addr().String())
	s := &Server{
		ln:         ln,
		log:        log,
		reqs:       make(chan client.Request, serverRequestBuffer),
		acceptDone: make(chan struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		conns:      make(map[*serverConn]struct{}),
	}
	go s.accept()
	go s.dispatch()
	log.Info("embedded STOMP broker listening")
	return s, nil
}

// Addr is the host:port the broker listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the broker's stomp:// URL, for Config.URL.
func (s *Server) URL() string { return "stomp://" + s.Addr() }

// Close stops listening, drops every connection (their in-memory messages are
// lost) and waits for the broker's goroutines to end. It is safe to call more
// than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		if cerr := s.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("closing embedded broker listener %s: %w", s.Addr(), cerr)
		}
		<-s.acceptDone
		// Dispatch stops delivering first, so nothing blocks on a connection
		// that is going away; it ends once every connection reported its end.
		close(s.stop)
		s.mu.Lock()
		open := make([]*serverConn, 0, len(s.conns))
		for c := range s.conns {
			open = append(open, c)
		}
		s.mu.Unlock()
		for _, c := range open {
			_ = c.Close()
		}
		select {
		case <-s.done:
		case <-time.After(serverCloseWait):
			s.log.Warn("embedded STOMP broker: connections still winding down after close", "wait", serverCloseWait)
		}
		s.log.Info("embedded STOMP broker stopped")
	})
	return err
}

// accept hands every new connection to go-stomp's per-connection code.
func (s *Server) accept() {
	defer close(s.acceptDone)
	cfg := serverConfig{log: stompLogger{s.log}}
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			stopping := s.stopping
			s.mu.Unlock()
			if stopping || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("embedded STOMP broker: accept failed; retrying", "err", err, "in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := &serverConn{Conn: nc, s: s}
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.live++
		s.mu.Unlock()
		client.NewConn(cfg, c, s.reqs)
	}
}

// serverConn is a client connection as the broker sees it: it forgets itself
// on close and bounds every write.
type serverConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

// Write writes with a deadline, so a peer that stopped reading cannot block
// the connection (and through it the broker) for long.
func (c *serverConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(serverWriteTimeout))
	return c.Conn.Write(p)
}

// Close closes the connection and forgets it.
func (c *serverConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// serverConfig is what go-stomp's per-connection code asks of the server.
type serverConfig struct{ log stompLogger }

// Authenticate accepts everyone: the embedded broker listens where the master
// is told to (by default loopback only).
func (serverConfig) Authenticate(login, passcode string) bool { return true }

// HeartBeat is the shortest heart-beat accepted; clients choose above it.
func (serverConfig) HeartBeat() time.Duration { return serverMinHeartBeat }

// Logger is go-stomp's logger.
func (c serverConfig) Logger() stomp.Logger { return c.log }
