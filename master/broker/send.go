package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

// errConnLost marks a send cut short by the loss of its connection.
var errConnLost = errors.New("connection lost during send")

// Send sends body to dest. While disconnected it waits for the next
// connection (bounded by ctx); a send cut short by a connection loss is tried
// again on the next connection. With Config.Receipts it returns nil only once
// the broker confirmed the message; without, nil means the frame was handed
// to the connection (lost if the connection breaks right then). An error
// means the message was not confirmed: a broker refusal, ctx ending (a
// message whose receipt was still awaited may yet arrive), or ErrClosed.
func (c *Client) Send(ctx context.Context, dest string, body []byte) error {
	if dest == "" {
		return errors.New("sending: empty destination")
	}
	for {
		s, err := c.waitSession(ctx)
		if err != nil {
			return fmt.Errorf("sending to %s: waiting for broker %s: %w", dest, c.ep.display, err)
		}
		err = c.sendOn(ctx, s, dest, body)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errConnLost):
			c.log.Debug("send interrupted by connection loss; retrying on the next connection", "destination", dest, "err", err)
			s.nc.closeWith(err) // makes sure this connection is given up
		default:
			return fmt.Errorf("sending to %s: %w", dest, err)
		}
	}
}

// sendOn sends once on connection s. Errors meaning the connection is gone
// wrap errConnLost.
func (c *Client) sendOn(ctx context.Context, s *session, dest string, body []byte) error {
	opts := sendOptions(dest, c.cfg.QueueTTL, time.Now())
	if !c.cfg.Receipts {
		// go-stomp only queues the frame for its writer here.
		return classifySend(s.conn.Send(dest, "", body, opts...), "")
	}
	id := "ac-" + strconv.FormatUint(c.receiptSeq.Add(1), 10)
	opts = append(opts, stomp.SendOpt.Header(frame.Receipt, id))
	res := make(chan error, 1)
	// go-stomp's receipt wait ignores contexts, so it runs apart; it always
	// ends, at the latest when the connection does.
	if !c.spawn(func() { res <- s.conn.Send(dest, "", body, opts...) }) {
		return ErrClosed
	}
	select {
	case err := <-res:
		return classifySend(err, id)
	case <-ctx.Done():
		return ctx.Err()
	case <-s.nc.dead:
		select {
		case err := <-res: // the receipt may have won the race
			return classifySend(err, id)
		default:
			return fmt.Errorf("%w: %w", errConnLost, s.lossReason())
		}
	}
}

// classifySend tells a connection loss (wrapped in errConnLost: send again
// on the next connection) from the broker refusing the frame itself (an
// ERROR frame answering receipt id: do not send again).
func classifySend(err error, receiptID string) error {
	if err == nil {
		return nil
	}
	for _, lost := range []error{stomp.ErrAlreadyClosed, stomp.ErrClosedUnexpectedly, stomp.ErrMsgSendTimeout, stomp.ErrMsgReceiptTimeout} {
		if errors.Is(err, lost) {
			return fmt.Errorf("%w: %w", errConnLost, err)
		}
	}
	var se stomp.Error
	if errors.As(err, &se) && se.Frame != nil {
		if receiptID != "" && se.Frame.Header.Get(frame.ReceiptId) == receiptID {
			return fmt.Errorf("broker refused the message: %w", err)
		}
		// go-stomp's own "connection closed" / "read timeout", or an ERROR
		// about another frame, which closes the connection too.
		return fmt.Errorf("%w: %w", errConnLost, err)
	}
	return err
}

// persistentHeader asks the broker to keep a message on disk until it is
// consumed (ActiveMQ, Artemis and RabbitMQ honour it; the embedded broker
// ignores it), so a broker restart loses nothing queued.
const persistentHeader = "persistent"

// expiresHeader is when a message expires, in milliseconds since the epoch
// (ActiveMQ's JMS expiration).
const expiresHeader = "expires"

// sendOptions are the SEND headers for dest: messages to queues are
// persistent and, with a ttl, expire ttl after now; topic messages only
// matter to whoever listens now.
func sendOptions(dest string, ttl time.Duration, now time.Time) []func(*frame.Frame) error {
	if !strings.HasPrefix(dest, queuePrefix+"/") {
		return nil
	}
	opts := []func(*frame.Frame) error{stomp.SendOpt.Header(persistentHeader, "true")}
	if ttl > 0 {
		opts = append(opts, stomp.SendOpt.Header(expiresHeader, strconv.FormatInt(now.Add(ttl).UnixMilli(), 10)))
	}
	return opts
}
