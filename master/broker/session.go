package broker

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

// session is one broker connection, from CONNECTED until it is lost.
type session struct {
	c         *Client
	conn      *stomp.Conn
	nc        *watchedConn
	server    string // the broker's "server" header
	clientAck bool   // client-individual acks in effect on this connection

	pumps   sync.WaitGroup
	abandon chan struct{} // closed when pumps must stop waiting for go-stomp
	retired chan struct{} // closed once the client no longer offers this connection

	mu     sync.Mutex
	subErr error // first error a subscription reported
}

// subscribe subscribes sub on this connection and starts pumping its
// messages. The caller holds c.mu.
func (s *session) subscribe(sub *subscription) error {
	mode := stomp.AckAuto
	var opts []func(*frame.Frame) error
	if s.clientAck {
		mode = stomp.AckClientIndividual
		opts = append(opts, stomp.SubscribeOpt.Header("activemq.prefetchSize", "1"))
	}
	ss, err := s.conn.Subscribe(sub.dest, mode, opts...)
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", sub.dest, err)
	}
	s.pumps.Add(1)
	s.c.wg.Add(1) // the caller runs inside the client's wait group
	go s.pump(sub, ss)
	return nil
}

// pump moves messages from go-stomp's subscription channel into sub's queue,
// quickly, so a slow handler never stalls the connection's I/O goroutine
// (which would also stop heart-beats). It returns when go-stomp closes the
// channel after the connection ends, or when told to give up waiting.
func (s *session) pump(sub *subscription, ss *stomp.Subscription) {
	defer s.c.wg.Done()
	defer s.pumps.Done()
	for {
		select {
		case m, ok := <-ss.C:
			if !ok {
				return
			}
			if m.Err != nil {
				s.note(fmt.Errorf("subscription %s: %w", sub.dest, m.Err))
				continue
			}
			sub.push(delivery{msg: m, sess: s})
		case <-s.abandon:
			return
		}
	}
}

// note keeps the first error a subscription reported, as the loss reason.
func (s *session) note(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subErr == nil {
		s.subErr = err
	}
}

// lossReason is why the connection ended, as precisely as known.
func (s *session) lossReason() error {
	reason := s.nc.cause()
	if reason == nil || errors.Is(reason, errClosedByLibrary) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.subErr != nil {
			return s.subErr
		}
	}
	return reason
}

// ended reports whether the connection is over.
func (s *session) ended() bool {
	select {
	case <-s.nc.dead:
		return true
	default:
		return false
	}
}

// drain waits for the pumps to see the end of their subscriptions, and makes
// them give up after pumpDrainWait (go-stomp's goroutines may then be left
// behind, but ours are not).
func (s *session) drain() {
	done := make(chan struct{})
	go func() {
		s.pumps.Wait()
		close(done)
	}()
	t := time.NewTimer(pumpDrainWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		close(s.abandon)
		<-done
		s.c.log.Debug("broker connection: subscriptions did not end in time; abandoned")
	}
}

// disconnect says DISCONNECT and waits a moment for the broker's receipt,
// then closes the connection whatever happened.
func (s *session) disconnect() {
	done := make(chan struct{})
	s.c.wg.Add(1) // the caller runs inside the client's wait group
	go func() {
		defer s.c.wg.Done()
		defer close(done)
		_ = s.conn.Disconnect()
	}()
	t := time.NewTimer(disconnectWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	s.nc.closeWith(errClientClosing)
}
