package broker

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// clientWriteTimeout bounds every write to the broker; a write blocked longer
// means the connection is unusable.
const clientWriteTimeout = 30 * time.Second

// errClosedByLibrary is the loss reason when go-stomp closed the connection
// itself (heart-beat timeout, ERROR frame) before any read or write failed.
var errClosedByLibrary = errors.New("connection closed by the STOMP client (heart-beat timeout or ERROR frame)")

// watchedConn is the network connection under one go-stomp connection. The
// go-stomp client has no "connection lost" signal; every way a connection
// ends (read or write error, go-stomp closing it after a heart-beat timeout
// or an ERROR frame, our own Close) passes through here, so dead is closed
// exactly when the connection is over, with the first cause kept.
type watchedConn struct {
	net.Conn
	dead chan struct{}

	once   sync.Once
	mu     sync.Mutex
	reason error
}

func newWatchedConn(c net.Conn) *watchedConn {
	return &watchedConn{Conn: c, dead: make(chan struct{})}
}

// Read reads from the broker; an error ends the connection.
func (w *watchedConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if err != nil {
		w.fail(fmt.Errorf("reading from broker: %w", err))
	}
	return n, err
}

// Write writes to the broker with a deadline; an error ends the connection.
func (w *watchedConn) Write(p []byte) (int, error) {
	_ = w.Conn.SetWriteDeadline(time.Now().Add(clientWriteTimeout))
	n, err := w.Conn.Write(p)
	if err != nil {
		w.fail(fmt.Errorf("writing to broker: %w", err))
	}
	return n, err
}

// Close closes the connection; the reason is errClosedByLibrary unless an
// earlier failure or closeWith gave one.
func (w *watchedConn) Close() error {
	w.fail(errClosedByLibrary)
	return w.Conn.Close()
}

// closeWith closes the connection for the given reason.
func (w *watchedConn) closeWith(reason error) {
	w.fail(reason)
	_ = w.Conn.Close()
}

func (w *watchedConn) fail(reason error) {
	w.once.Do(func() {
		w.mu.Lock()
		w.reason = reason
		w.mu.Unlock()
		close(w.dead)
	})
}

// cause is why the connection ended (nil while it is alive).
func (w *watchedConn) cause() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reason
}
