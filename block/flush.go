package block

import (
	"context"
	"fmt"
	"math"
)

// Flush seals every window that holds data, the open ones too, up to and
// including the window of the head's newest sample, and uploads every
// pending block now, whatever the backoff of earlier failures. From its
// start the head refuses samples for those windows (SealBefore), so it is
// for a node about to leave for good: what it holds is then in the bucket
// and nothing is left only in its WAL. It fails with the first sealing or
// upload error; what was sealed stays pending for the next start.
func (s *Shipper) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	wins := s.opts.Source.Windows()
	err := s.sealUntil(ctx, func(maxT int64) int64 {
		start := wins.Start(maxT)
		if start > math.MaxInt64-wins.Block() {
			return math.MaxInt64
		}
		return start + wins.Block()
	})
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := s.uploadPending(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}
