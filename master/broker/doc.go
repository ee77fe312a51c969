// Package broker is the STOMP layer shared by the master and the agent
// (DESIGN.md §4.4): an embedded broker built on go-stomp's server packages,
// and a Client that survives connection loss.
//
// The go-stomp client does not reconnect by itself. Client does: it detects a
// lost connection (read or write error, heart-beat timeout, broker restart,
// cut TCP connection), reconnects with jittered exponential backoff,
// subscribes every remembered subscription again, and makes Send wait for the
// next connection instead of failing.
//
// Reliability is not this package's job: the application protocol (master
// store as the truth, re-dispatch, dedupe by composition and attempt) makes
// lost or repeated messages harmless. Without receipts a Send that returned
// nil may still be lost if the connection breaks just after it; with receipts
// a Send interrupted by a connection loss is sent again on the next
// connection, so the broker may see it twice.
//
// # External brokers (ActiveMQ)
//
// Messages to /queue/ destinations are sent "persistent:true", so a broker
// restart loses nothing queued (Config.QueueTTL adds an "expires" header).
// With Config.ClientAck a subscription is client-individual with prefetch 1
// (header activemq.prefetchSize:1): Subscribe acknowledges a message once its
// handler returned nil (at least once: a message whose handler never
// finished comes again after a reconnect), SubscribeAtMostOnce before the
// handler runs (for consumers whose dedupe dies with the process). A handler
// error NACKs the message; ActiveMQ answers a STOMP NACK by moving the
// message to its dead letter queue at once, it does not redeliver it.
// ActiveMQ persists acknowledgements lazily: one sent a moment before the
// broker is SIGKILLed may be forgotten, and that message delivered again
// after the restart; the application's dedupe covers it.
//
// These are verified against a real ActiveMQ in activemq_test.go
// (images/activemq, package activemqtest).
//
// # go-stomp v3.1.5 quirks this package works around
//
//   - server.Server.Serve never returns and keeps no list of connections, so
//     a broker could not be stopped. Server runs its own request loop over
//     go-stomp's server/client, server/queue and server/topic packages, and
//     tracks connections so Close drops them and returns.
//   - The server's client acks are broken. Over STOMP 1.2 it looks for the
//     ACK's message id in "ack" or "message-id" while the client sends "id",
//     so it answers the first ACK with ERROR and closes the connection (the
//     message is requeued and redelivered forever); over 1.1 it never
//     records the message id it sent, so an ACK matches nothing and the
//     subscription gets no second message. Only ack:auto works there. Client
//     falls back to ack:auto, with a warning, when Config.ClientAck is set
//     but the broker answers as go-stomp ("server: stompd/...").
//   - A server connection blocked writing to a peer that stopped reading
//     (a suspended machine) would stall the whole broker once its topic
//     buffer fills, so the embedded broker puts a deadline on every write.
//   - In the client, a receipt wait that times out leaves a channel behind
//     that blocks the connection's I/O goroutine forever; the receipt
//     timeout is therefore kept longer than heart-beat detection, so a broken
//     connection always ends the wait first. Send itself is bounded by its
//     context, not by go-stomp's timeouts.
//   - go-stomp logs routine events (every closed connection) at error level;
//     its debug, info and error lines are logged at debug, its warnings at
//     warn.
//   - go-stomp waits for the broker's heart-beats its negotiated period plus
//     HeartBeatError, times a grace multiplier, and gives up. ActiveMQ beats
//     only after a whole period in which it wrote nothing, so its silences
//     last up to two of its periods (its first beat comes two periods after
//     CONNECTED). With "heart-beat:hb,hb" every idle connection to ActiveMQ
//     was dropped after 1.5 periods and reconnected, in a loop. The client
//     asks "hb,hb/2" instead (the broker beats twice as often as we need)
//     and waits (hb/2 + hb/2) × 1.5 = 1.5·hb; see connectOptions.
//   - go-stomp also does not implement the rule that a side announcing 0
//     sends no heart-beats: against a broker that answers "heart-beat:0,x"
//     it still expects beats and drops an idle connection after 1.5 periods.
//     ActiveMQ, Artemis, RabbitMQ and the embedded broker all beat; for a
//     broker that does not, set Config.HeartBeat to NoHeartBeat.
package broker
