// Package session ties the agent to the master over STOMP (DESIGN.md §4.4,
// master/wire):
//
//   - it subscribes to the agent's queue and sends Register on connect and
//     after every reconnect (with Running and LastDone, so nothing sent while
//     the master was away is lost), then a Heartbeat every interval;
//   - on Assign it dedupes by (composition, attempt): a repeat of the running
//     attempt re-sends Accepted, a repeat of a finished one re-sends its Done;
//     otherwise a busy, draining or stopping agent ignores it (logged); else
//     it sends Accepted, runs the tasks, streams Output lines (Seq from 1 per
//     attempt) and Context as they come, and ends with Done;
//   - the attempt's tasks find {"composition", "attempt", "agent"} under the
//     context key "agentcloud" (ContextKey), e.g. in AGENTCLOUD_CONTEXT;
//   - Cancel stops the running attempt (Done failed, "cancelled"); Drain makes
//     it take no new work; Reregister (a master that restarted and does not
//     know the agent, whose connection survived) makes it send Register again;
//   - when its context ends (SIGTERM) it lets the running attempt finish
//     within the shutdown grace, past it kills it (Done interrupted), sends
//     what is still queued and Bye.
//
// Messages to the master leave through one ordered queue. Send waits for a
// connection by itself (broker.Client); a send that still fails is retried
// a few times, then dropped — the master repairs that (re-dispatch, LastDone).
// Output lines are dropped first when the queue overflows a long outage.
package session
