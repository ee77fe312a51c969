package amqstats

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// DefaultTimeout bounds one statistics round (connect, ask, read the replies).
const DefaultTimeout = 5 * time.Second

// Config says where the broker is and how pools map to queues.
type Config struct {
	// URL is stomp://host:port or stomp+ssl://host:port.
	URL string
	// Login and Passcode authenticate to the broker (optional).
	Login, Passcode string
	// QueueTemplate names each pool's queue, e.g. /queue/jobs.{pool}.
	QueueTemplate string
	// Timeout bounds one statistics round (default DefaultTimeout); the
	// caller's context may end it sooner.
	Timeout time.Duration
	// TLS configures stomp+ssl (nil: system CAs, ServerName from the URL).
	TLS *tls.Config
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Source reads pool status from ActiveMQ's statistics; see the package doc.
// It implements watch.Poller (Pools) and the scaler's drain through
// Drain. It is safe for concurrent use.
type Source struct {
	cfg  Config
	ep   endpoint
	tmpl Template
	log  *slog.Logger

	mu        sync.Mutex
	idleSince map[agentKey]time.Time // agents idle at the last poll
}

type agentKey struct{ pool, agent string }

// New checks cfg and returns a source; it connects only when polled.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	ep, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("activemq source: %w", err)
	}
	tmpl, err := ParseTemplate(cfg.QueueTemplate)
	if err != nil {
		return nil, fmt.Errorf("activemq source: %w", err)
	}
	if cfg.TLS != nil && !ep.tls {
		return nil, fmt.Errorf("activemq source: broker URL %q: TLS configuration given but the scheme is not stomp+ssl", ep.display)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, ep: ep, tmpl: tmpl, log: log, idleSince: map[agentKey]time.Time{}}, nil
}

// Pools reads every pool queue's statistics as a master's pool status: the
// pools whose queue exists on the broker, with their waiting messages and
// consumers (see the package doc).
func (s *Source) Pools(ctx context.Context) (api.PoolsResponse, error) {
	st, err := s.query(ctx)
	if err != nil {
		return api.PoolsResponse{}, fmt.Errorf("reading queue statistics from ActiveMQ at %s: %w", s.ep.display, err)
	}
	now := s.cfg.Now()
	pools := s.build(st, now)
	out := api.PoolsResponse{GeneratedAt: now}
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		out.Pools = append(out.Pools, *pools[name])
	}
	return out, nil
}

// build turns one round of statistics into pool status, and remembers since
// when each agent is idle.
func (s *Source) build(st stats, now time.Time) map[string]*api.PoolStatus {
	pools := map[string]*api.PoolStatus{}
	for _, q := range st.queues {
		pool, ok := s.tmpl.Pool(str(q, "destinationName"))
		if !ok {
			continue
		}
		queued := max(num(q, "size")-num(q, "inflightCount"), 0)
		p := &api.PoolStatus{Pool: pool, Queued: int(queued), Agents: []api.AgentStatus{}}
		if ts := num(q, "firstMessageTimestamp"); queued > 0 && ts > 0 {
			p.OldestQueuedAt = time.UnixMilli(ts).UTC()
			p.OldestWaitSeconds = max(now.Sub(p.OldestQueuedAt).Seconds(), 0)
		}
		pools[pool] = p
	}

	// One agent per client id and pool; busy if any of its subscriptions
	// holds an unacknowledged message.
	busy := map[agentKey]bool{}
	for _, sub := range st.subs {
		pool, ok := s.tmpl.Pool(str(sub, "destinationName"))
		if !ok || pools[pool] == nil { // a topic of the same name has no queue entry
			continue
		}
		id := str(sub, "clientId")
		if id == "" {
			id = str(sub, "connectionId")
		}
		k := agentKey{pool, id}
		busy[k] = busy[k] || num(sub, "dispatchedQueueSize") > 0
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	idle := make(map[agentKey]time.Time, len(busy))
	for _, k := range slices.SortedFunc(maps.Keys(busy), func(a, b agentKey) int {
		return cmp.Or(strings.Compare(a.pool, b.pool), strings.Compare(a.agent, b.agent))
	}) {
		a := api.AgentStatus{ID: k.agent, State: api.AgentBusy, LastSeen: now}
		if !busy[k] {
			since, ok := s.idleSince[k]
			if !ok {
				since = now
			}
			idle[k] = since
			a.State, a.IdleSince = api.AgentIdle, since
		}
		pools[k.pool].Agents = append(pools[k.pool].Agents, a)
	}
	s.idleSince = idle
	return pools
}

// Drain cannot close a consumer to new work (see the package doc): it asks
// the broker afresh and answers Draining false, and Idle when no
// subscription of the agent holds an unacknowledged message.
func (s *Source) Drain(ctx context.Context, agentID string) (api.DrainResponse, error) {
	if agentID == "" {
		return api.DrainResponse{}, errors.New("draining: empty agent id")
	}
	resp, err := s.Pools(ctx)
	if err != nil {
		return api.DrainResponse{}, fmt.Errorf("draining agent %s: %w", agentID, err)
	}
	out := api.DrainResponse{Agent: agentID, Idle: true}
	for _, p := range resp.Pools {
		for _, a := range p.Agents {
			if a.ID == agentID && a.State != api.AgentIdle {
				out.Idle = false
			}
		}
	}
	s.log.Info("activemq source: drain is a check only; the broker may still dispatch to the agent", "agent", agentID, "idle", out.Idle)
	return out, nil
}
