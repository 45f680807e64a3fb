package bucketcfg

import (
	"context"
	"fmt"
	"log/slog"

	kitlog "github.com/go-kit/log"
)

// slogKit is the go-kit logger the objstore providers take, writing to slog.
type slogKit struct{ l *slog.Logger }

var _ kitlog.Logger = slogKit{}

// Log maps go-kit key-value pairs onto a slog record: "msg" becomes the
// message and "level" the level (info when absent).
func (k slogKit) Log(kv ...any) error {
	lvl := slog.LevelInfo
	msg := ""
	attrs := make([]any, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		key := fmt.Sprint(kv[i])
		switch key {
		case "msg":
			msg = fmt.Sprint(kv[i+1])
		case "level":
			lvl = parseLevel(fmt.Sprint(kv[i+1]))
		default:
			attrs = append(attrs, key, kv[i+1])
		}
	}
	k.l.Log(context.Background(), lvl, msg, attrs...)
	return nil
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
