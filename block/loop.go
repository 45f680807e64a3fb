package block

import (
	"context"
	"log/slog"
	"time"
)

// runEvery calls once at once and then every interval until ctx is done,
// logging its errors under what. The background jobs of this package run
// on it.
func runEvery(ctx context.Context, interval time.Duration, log *slog.Logger, what string, once func(context.Context) error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := once(ctx); err != nil && ctx.Err() == nil {
			log.Error(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
