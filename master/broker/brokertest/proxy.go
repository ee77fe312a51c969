// Package brokertest is test support for STOMP connections: a TCP proxy that
// a test puts between clients and a broker to cut their connections (both
// ends see them close, as after a reset) or freeze them (they stay open but
// nothing gets through, like a machine that vanished).
package brokertest

import (
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards 127.0.0.1 connections to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	once   sync.Once

	mu    sync.Mutex
	pairs map[*pair]struct{}
	total int
}

type pair struct {
	client, server net.Conn
	frozen         atomic.Bool
}

// StartProxy listens on a free 127.0.0.1 port and forwards every connection
// to target; the test's cleanup closes it.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's address as a stomp:// URL.
func (p *Proxy) URL() string { return "stomp://" + p.ln.Addr().String() }

// Close stops accepting, cuts every connection and waits for the copies to
// end. It may be called more than once.
func (p *Proxy) Close() {
	p.once.Do(func() {
		_ = p.ln.Close()
		p.Cut(1)
		p.wg.Wait()
	})
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil { // the target is down: the client sees a closed connection
			_ = c.Close()
			continue
		}
		pr := &pair{client: c, server: s}
		p.mu.Lock()
		p.pairs[pr] = struct{}{}
		p.total++
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pr, c, s)
		go p.pipe(pr, s, c)
	}
}

// pipe copies src to dst until either fails, dropping data while frozen.
func (p *Proxy) pipe(pr *pair, src, dst net.Conn) {
	defer p.wg.Done()
	defer p.drop(pr)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pr.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, reset or closed: the pair ends either way
		}
	}
}

func (p *Proxy) drop(pr *pair) {
	_ = pr.client.Close()
	_ = pr.server.Close()
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
}

// Cut closes a random share frac of the current connections (1: all; at
// least one when there is any) and returns how many it closed.
func (p *Proxy) Cut(frac float64) int {
	p.mu.Lock()
	pairs := make([]*pair, 0, len(p.pairs))
	for pr := range p.pairs {
		pairs = append(pairs, pr)
	}
	p.mu.Unlock()
	rand.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	if n := int(math.Ceil(frac * float64(len(pairs)))); n < len(pairs) {
		pairs = pairs[:n]
	}
	for _, pr := range pairs {
		_ = pr.client.Close()
		_ = pr.server.Close()
	}
	return len(pairs)
}

// Freeze makes every current connection silently drop all data; later
// connections work. It returns how many it froze.
func (p *Proxy) Freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.frozen.Store(true)
	}
	return len(p.pairs)
}

// Accepted counts the connections the proxy has taken so far.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}
