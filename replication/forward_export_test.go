package replication

// Exported for the tests of package replication_test.
var (
	DecodeRecord = decodeRecord
	AppendRecord = appendRecord
	CountSamples = countSamples
)
