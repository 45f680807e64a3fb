package head

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckpointBytesCountsRecords: CheckpointBytes bounds what a restart
// replays, so it counts the records' length before compression. A load whose
// records exceed it is due a checkpoint even though zstd frames keep the
// bytes on disk far below it.
func TestCheckpointBytesCountsRecords(t *testing.T) {
	const limit = 256 << 10
	codec, err := WALCodec("zstd")
	require.NoError(t, err)
	h := openTest(t, func(o *Options) {
		o.CheckpointBytes = limit
		o.WAL.Compression = codec
	})
	// An invalid time closes no window, so only the bytes can make a
	// checkpoint due.
	const noWindow = math.MinInt64
	require.False(t, h.checkpointDue(noWindow), "due before anything was logged")
	for round := int64(0); h.wal.Stats().RecordBytes <= limit; round++ {
		app := h.Appender()
		for i := range 1000 {
			lset := series("checkpoint_bytes_total", "instance", fmt.Sprintf("host-%04d.example.org:9100", i), "job", "node")
			_, err := app.Append(0, lset, 1_000+round*15_000, float64(round*1000+int64(i)))
			require.NoError(t, err)
		}
		require.NoError(t, app.Commit())
	}
	st := h.wal.Stats()
	require.Less(t, st.BytesWritten, uint64(limit), "the test needs frames that compress below the limit: %d bytes written for %d of records", st.BytesWritten, st.RecordBytes)
	require.True(t, h.checkpointDue(noWindow), "not due with %d bytes of records logged (limit %d)", st.RecordBytes, limit)

	require.NoError(t, h.Checkpoint(h.ctx))
	require.False(t, h.checkpointDue(noWindow), "still due right after a checkpoint")
}
