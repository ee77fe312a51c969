package broker

import (
	"strings"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/go-stomp/stomp/v3/server/client"
	"github.com/go-stomp/stomp/v3/server/queue"
	"github.com/go-stomp/stomp/v3/server/topic"
)

// queuePrefix marks queue destinations; every other destination is a topic
// (go-stomp's server.QueuePrefix rule).
const queuePrefix = "/queue"

// dispatch is the broker's single owner of queues and topics: it applies the
// requests every connection sends (subscribe, unsubscribe, enqueue, requeue,
// connected, disconnected). Unlike go-stomp's server loop it stops: after
// Close it keeps draining requests, ignoring new work, until every connection
// has reported itself disconnected, so no connection goroutine is left
// blocked on the request channel.
func (s *Server) dispatch() {
	defer close(s.done)
	queues := queue.NewManager(queue.NewMemoryQueueStorage())
	topics := topic.NewManager()
	stop := s.stop
	stopping := false
	for {
		if stopping && s.liveConns() == 0 {
			return
		}
		select {
		case <-stop:
			stopping, stop = true, nil
		case r := <-s.reqs:
			s.apply(r, queues, topics, stopping)
		}
	}
}

// apply carries out one request. While stopping, nothing is delivered any
// more: delivering could block on a connection that is going away.
func (s *Server) apply(r client.Request, queues *queue.Manager, topics *topic.Manager, stopping bool) {
	switch r.Op {
	case client.SubscribeOp:
		if stopping {
			return
		}
		if dest := r.Sub.Destination(); isQueue(dest) {
			if err := queues.Find(dest).Subscribe(r.Sub); err != nil {
				s.log.Warn("embedded STOMP broker: subscribing", "destination", dest, "err", err)
			}
		} else {
			topics.Find(dest).Subscribe(r.Sub)
		}
	case client.UnsubscribeOp:
		if dest := r.Sub.Destination(); isQueue(dest) {
			queues.Find(dest).Unsubscribe(r.Sub)
		} else {
			topics.Find(dest).Unsubscribe(r.Sub)
		}
	case client.EnqueueOp, client.RequeueOp:
		if stopping {
			return
		}
		dest, ok := r.Frame.Header.Contains(frame.Destination)
		if !ok {
			s.log.Warn("embedded STOMP broker: dropping message without destination")
			return
		}
		switch {
		case isQueue(dest) && r.Op == client.EnqueueOp:
			if err := queues.Find(dest).Enqueue(r.Frame); err != nil {
				s.log.Warn("embedded STOMP broker: enqueueing", "destination", dest, "err", err)
			}
		case isQueue(dest):
			if err := queues.Find(dest).Requeue(r.Frame); err != nil {
				s.log.Warn("embedded STOMP broker: requeueing", "destination", dest, "err", err)
			}
		case r.Op == client.EnqueueOp:
			topics.Find(dest).Enqueue(r.Frame)
		}
	case client.ConnectedOp:
		s.log.Debug("embedded STOMP broker: client connected")
	case client.DisconnectedOp:
		s.mu.Lock()
		s.live--
		s.mu.Unlock()
		s.log.Debug("embedded STOMP broker: client disconnected")
	}
}

// liveConns counts connections that have not yet reported their end.
func (s *Server) liveConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func isQueue(dest string) bool { return strings.HasPrefix(dest, queuePrefix) }
