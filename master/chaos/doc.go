// Package chaos holds end-to-end tests of the master and agents against a
// real ActiveMQ (DESIGN.md §4.4, §5): real master and agent processes built
// from cmd/master and cmd/agent, a private ActiveMQ the tests SIGKILL and
// restart, and a TCP proxy between every process and the broker that the
// tests sever. It has no code outside its tests.
//
//	go test ./master/chaos/                                   # 200 compositions
//	AGENTCLOUD_CHAOS_COMPOSITIONS=40 go test -v ./master/chaos/   # a quick run
//	go test -run '^$' -bench Reconnect -benchtime 3x ./master/chaos/
package chaos
