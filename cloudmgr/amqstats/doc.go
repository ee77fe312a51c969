// Package amqstats is a pool status source for installations whose master is
// not agentcloud's but whose work waits in ActiveMQ queues, one queue per
// pool (a queue name template such as /queue/jobs.{pool}). It reads each
// pool's queue straight from ActiveMQ's statistics plugin
// (<statisticsBrokerPlugin/>) over STOMP: one request to
// ActiveMQ.Statistics.Destination.<wildcard> for the queues and one to
// ActiveMQ.Statistics.Subscription for their consumers, answered as XML maps
// (STOMP header transformation:jms-map-xml, which needs the xstream and xpp3
// jars in the broker's lib folder). It is a watch.Poller, so the watcher
// polls it like a master and the scaler sees the same Snapshot.
//
// What it knows, per pool queue:
//
//   - queued: messages waiting for a consumer (the queue's size minus the
//     messages dispatched and not yet acknowledged);
//   - oldest wait: the age of the oldest waiting message
//     (firstMessageTimestamp, which skips dispatched messages; the broker's
//     clock, so clock skew between the broker and cloudmgr shows here);
//   - agents: one per consumer of the queue, named by its connection's
//     client id (the STOMP CONNECT header "client-id"), busy while a message
//     is dispatched to it and not acknowledged (prefetch 1, client acks), else
//     idle; idle since is the first poll that saw it idle.
//
// What it cannot know, and what follows:
//
//   - which machine a consumer runs on, except through its client id: the
//     agents of such an installation must connect with client-id set to
//     their agent id (the instance name cloudmgr gave the machine).
//     Otherwise their consumers count as agents started by hand (capacity,
//     never touched) and cloudmgr's own machines look as if their agent never
//     registered, so boot_timeout destroys them;
//   - unschedulable work (no facts, no selectors): always 0;
//   - drains: ActiveMQ cannot close a consumer to new messages. Drain
//     answers Draining false and Idle when the agent's consumer has nothing
//     in flight at that instant (or has no consumer at all), so the scaler
//     suspends or destroys it at once. The broker may still dispatch a message
//     to it before the machine stops; unacknowledged, that message goes back
//     to the queue when the consumer's connection drops and runs elsewhere
//     (from the start). Scale-down therefore never loses work but may
//     restart a job that had just begun; idle_timeout (the agent idle that
//     long, across polls) keeps that rare.
package amqstats
