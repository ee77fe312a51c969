package broker

import (
	"fmt"
	"log/slog"
)

// stompLogger adapts slog to go-stomp's Logger. go-stomp logs routine events
// (every closed connection) at error level, so only its warnings keep their
// level; everything else goes to debug.
type stompLogger struct{ log *slog.Logger }

func (l stompLogger) Debugf(format string, v ...any)   { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l stompLogger) Infof(format string, v ...any)    { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l stompLogger) Warningf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l stompLogger) Errorf(format string, v ...any)   { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l stompLogger) Debug(msg string)                 { l.log.Debug(msg) }
func (l stompLogger) Info(msg string)                  { l.log.Debug(msg) }
func (l stompLogger) Warning(msg string)               { l.log.Warn(msg) }
func (l stompLogger) Error(msg string)                 { l.log.Debug(msg) }

// orDiscard returns log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
