package replication

// Exported for the tests of package replication_test.
// Spilled reports whether the unread requests are read from disk.
func (q *Queue) Spilled() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.spilled
}

var (
	DecodeRecord = decodeRecord
	AppendRecord = appendRecord
	CountSamples = countSamples
)
