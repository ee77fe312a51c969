package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/broker"
	"github.com/agentcloud/agentcloud/master/wire"
)

// scriptedAgent is an in-test agent speaking the wire protocol over a real
// broker connection. For every assign it accepts, prints one line per task
// (the task's "say" field), publishes the context value "ran_<task>", and
// reports done: failed when a task has "fail": true, else succeeded.
type scriptedAgent struct {
	id, pool, prefix, token string
	c                       *broker.Client
	assigns                 atomic.Int64
	quiet                   bool // no output or context: accept and done only
}

func startAgent(tb testing.TB, brokerURL, prefix, id, pool, token string, quiet bool) *scriptedAgent {
	tb.Helper()
	ctx := context.Background()
	c, err := broker.Dial(ctx, broker.Config{URL: brokerURL, Name: id}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	a := &scriptedAgent{id: id, pool: pool, prefix: prefix, token: token, c: c, quiet: quiet}
	if err := c.Subscribe(wire.AgentQueue(prefix, id), a.handle); err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(wctx); err != nil {
		tb.Fatal(err)
	}
	a.send(ctx, &wire.Register{
		Type: wire.TypeRegister, Agent: id, Pool: pool, Token: token, Plugins: []string{"shell"},
		Facts: map[string]any{"os": map[string]any{"family": "Debian", "architecture": "amd64"}, "processors": map[string]any{"count": 2}},
	})
	return a
}

func (a *scriptedAgent) send(ctx context.Context, msg any) {
	body, err := wire.Encode(msg)
	if err == nil {
		err = a.c.Send(ctx, wire.MasterQueue(a.prefix), body)
	}
	if err != nil && ctx.Err() == nil {
		panic(fmt.Sprintf("agent %s: sending %T: %v", a.id, msg, err))
	}
}

func (a *scriptedAgent) handle(ctx context.Context, body []byte) error {
	msg, err := wire.Decode(body)
	if err != nil {
		return err
	}
	as, ok := msg.(*wire.Assign)
	if !ok {
		return nil // drain, cancel
	}
	a.assigns.Add(1)
	a.send(ctx, &wire.Accepted{Type: wire.TypeAccepted, Agent: a.id, Ref: as.Ref})
	result := wire.ResultSucceeded
	errText := ""
	failed := -1
	for i, t := range as.Tasks {
		if !a.quiet {
			a.send(ctx, &wire.Output{Type: wire.TypeOutput, Agent: a.id, Ref: as.Ref, Task: i, Seq: 1,
				Stream: "stdout", Line: fmt.Sprint(t.Fields["say"]), At: time.Now()})
			a.send(ctx, &wire.Context{Type: wire.TypeContext, Agent: a.id, Ref: as.Ref, Task: i,
				Values: map[string]any{fmt.Sprintf("ran_%d", i): true}})
		}
		if t.Fields["fail"] == true {
			result, errText, failed = wire.ResultFailed, fmt.Sprintf("task %d said to fail", i), i
			break
		}
	}
	a.send(ctx, &wire.Done{Type: wire.TypeDone, Agent: a.id, Ref: as.Ref, Result: result, FailedTask: failed, Error: errText})
	return nil
}
