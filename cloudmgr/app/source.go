package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/agentcloud/agentcloud/cloudmgr/amqstats"
	"github.com/agentcloud/agentcloud/cloudmgr/config"
	"github.com/agentcloud/agentcloud/cloudmgr/watch"
	"github.com/agentcloud/agentcloud/master/api"
)

// drainer drains one agent through an installation's master, or what
// stands in for it.
type drainer interface {
	Drain(ctx context.Context, agentID string) (api.DrainResponse, error)
}

// statusSource builds what polls an installation's pool status and drains
// its agents: the master's HTTP API, or with source: activemq the broker's
// statistics (cloudmgr/amqstats).
func statusSource(in config.Installation, hc *http.Client, log *slog.Logger) (watch.Poller, drainer, error) {
	if in.StatusSource != config.SourceActiveMQ {
		c := watch.NewClient(in.MasterURL, in.Token, hc)
		return c, c, nil
	}
	a := in.ActiveMQ
	src, err := amqstats.New(amqstats.Config{
		URL: a.BrokerURL, Login: a.Login, Passcode: a.Passcode, QueueTemplate: a.Queue,
	}, log.With("component", "amqstats", "installation", in.Name))
	if err != nil {
		return nil, nil, fmt.Errorf("installation %s: %w", in.Name, err)
	}
	return src, src, nil
}
