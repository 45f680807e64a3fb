package ring

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	kitlog "github.com/go-kit/log"
)

// slogKit adapts a *slog.Logger to the go-kit logger dskit takes. It is
// the only place go-kit logging appears in our code.
type slogKit struct{ l *slog.Logger }

var _ kitlog.Logger = slogKit{}

// Log implements kitlog.Logger: "level" and "msg" become the slog level
// and message, "caller" and "ts" are dropped (slog adds its own), the
// other pairs become attributes.
func (s slogKit) Log(keyvals ...any) error {
	lvl, msg := slog.LevelInfo, ""
	attrs := make([]any, 0, len(keyvals))
	for i := 0; i < len(keyvals); i += 2 {
		k := fmt.Sprint(keyvals[i])
		var v any = "(MISSING)"
		if i+1 < len(keyvals) {
			v = keyvals[i+1]
		}
		switch k {
		case "level":
			lvl = parseLevel(fmt.Sprint(v))
		case "msg":
			msg = fmt.Sprint(v)
		case "caller", "ts":
		default:
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	s.l.Log(context.Background(), lvl, msg, attrs...)
	return nil
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
