package replication_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/golang/snappy"

	"github.com/gorilla-remote/gorilla-remote/replication"
)

// FuzzQueueRecord: any bytes decode to a request or an error, never a
// panic, and a decoded request encodes back to the same bytes.
func FuzzQueueRecord(f *testing.F) {
	f.Add(replication.AppendRecord(nil, &replication.Request{Seq: 7, Enqueued: time.UnixMilli(1_700_000_000_123),
		Samples: 3, ContentType: "application/x-protobuf", Version: "2.0.0", Tenant: "team-a", Body: []byte("body")}))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := replication.DecodeRecord(rec)
		if err != nil {
			return
		}
		again := replication.AppendRecord(nil, &r)
		r2, err := replication.DecodeRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if r2.Seq != r.Seq || !r2.Enqueued.Equal(r.Enqueued) || r2.Samples != r.Samples || r2.Tenant != r.Tenant ||
			r2.ContentType != r.ContentType || r2.Version != r.Version || !bytes.Equal(r2.Body, r.Body) {
			t.Fatalf("round trip changed %+v into %+v", r, r2)
		}
	})
}

// FuzzCountSamples: any body counts or fails, never panics.
func FuzzCountSamples(f *testing.F) {
	raw1, _ := snappy.Decode(nil, rw1("m", 3, 0, 4))
	raw2, _ := snappy.Decode(nil, rw2("m", 3, 0, 4))
	f.Add(raw1, false)
	f.Add(raw2, true)
	f.Add([]byte{0x0a, 0xff}, false)
	f.Fuzz(func(t *testing.T, raw []byte, v2 bool) {
		n, err := replication.CountSamples(raw, v2)
		if err == nil && n < 0 {
			t.Fatalf("negative count %d", n)
		}
	})
}

func TestCountSamples(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		body := rw1("m", 3, 0, 4)
		if v2 {
			body = rw2("m", 3, 0, 4)
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := replication.CountSamples(raw, v2); n != 12 || err != nil {
			t.Fatalf("v2=%v: CountSamples = %d, %v; want 12", v2, n, err)
		}
	}
}
