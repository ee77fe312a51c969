package policies

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
	"github.com/agentcloud/agentcloud/providers"
)

// mixedPool is a validated pool of about n instances and agents in every state:
// busy, idle long and short, draining, booting, timed out, suspended (some past
// their ttl), suspending, and agents started by hand, with a schedule window.
func mixedPool(n int) Input {
	p := pol(func(p *Policy) {
		p.MaxAgents, p.MaxSuspended, p.ScaleUpStep, p.Warm = 60, 8, 10, 2
		p.Schedule = []Window{{Cron: "0 8 * * 1-5", Duration: 10 * time.Hour, MinAgents: 5, Timezone: "Europe/Paris"}}
	})
	st := &api.PoolStatus{Pool: "linux", Queued: 7, OldestWaitSeconds: 30}
	var insts []providers.Instance
	for i := range n {
		name := fmt.Sprintf("m%03d", i)
		switch i % 8 {
		case 0, 1, 2:
			insts = append(insts, running(name))
			st.Agents = append(st.Agents, busy(name))
		case 3:
			insts = append(insts, running(name))
			st.Agents = append(st.Agents, idle(name, time.Duration(i)*time.Minute))
		case 4:
			insts = append(insts, running(name))
			st.Agents = append(st.Agents, drained(idle(name, time.Hour)))
		case 5:
			insts = append(insts, booting(name, time.Duration(i%16)*time.Minute))
		case 6:
			insts = append(insts, susp(name, time.Duration(i)*time.Hour))
		case 7:
			if i%16 == 7 {
				insts = append(insts, inst(name, providers.StateSuspending))
			} else {
				st.Agents = append(st.Agents, idle("hand-"+name, time.Hour))
			}
		}
	}
	return mk(p, st, insts...)
}

func BenchmarkDecide(b *testing.B) {
	in := mixedPool(50)
	if err := Validate(&Set{Pools: []*Policy{in.Policy}}, map[string]providers.Capabilities{"fake": {SuspendModes: []providers.SuspendMode{providers.SuspendStop}}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var plan Plan
	for b.Loop() {
		plan = Decide(in)
	}
	b.ReportMetric(float64(len(plan.Actions)), "actions")
}
