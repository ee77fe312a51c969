// Package simulate replays a trace of jobs (arrival, duration, pool) through
// the real scaling decision, policies.Decide, in virtual time, and measures
// what a policy costs and how long work waits. It is the whole of
// `cloudmgr simulate`: see Main, and docs/simulate.md.
//
// The replay is discrete-event and never sleeps. A simulated master keeps a
// FIFO queue per pool and gives each job to a free agent at once (longest
// idle first, as the real master's scheduler does); machines are modelled
// directly with a latency per provider operation (create, boot to
// registered, resume, suspend, destroy), in the states a provider reports
// (pending, running, suspending, suspended, resuming, destroying). Every
// tick_interval of virtual time each pool is decided as cloudmgr's loop
// decides it: policies.Decide fed with the master's status, the pool's
// instances and the remembered PoolState, and the plan executed as the real
// executor does (a drain the master confirms idle is followed at once by its
// suspend or destroy).
//
// At one instant events are handled in a fixed order: machine state changes,
// job completions, job arrivals, the end of the horizon, then the tick. The
// same input always gives the same output.
package simulate
