package remote

import (
	"math"
	"net/http"
	"testing"

	metricsv1 "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// storedBits renders every stored series with its samples' bits, so that
// NaNs compare equal.
func storedBits(s *memStore) map[string][][2]uint64 {
	out := map[string][][2]uint64{}
	for k, smps := range stored(s) {
		for _, smp := range smps {
			out[k] = append(out[k], [2]uint64{uint64(smp.T), math.Float64bits(smp.V)})
		}
	}
	return out
}

// FuzzOTLPDecode sends arbitrary bodies as OTLP protobuf or JSON, plain or
// gzipped (mode's low bits). The handler must answer 200, 400 or 413 and
// never panic; a body that decodes as protobuf must store the same series
// when sent again as OTLP/JSON.
func FuzzOTLPDecode(f *testing.F) {
	pb, err := proto.Marshal(everyType())
	if err != nil {
		f.Fatal(err)
	}
	js, err := protojson.Marshal(everyType())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), pb)
	f.Add(uint8(1), js)
	f.Add(uint8(2), gzipBytes(f, pb))
	f.Add(uint8(3), gzipBytes(f, js))
	f.Add(uint8(0), []byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, mode uint8, body []byte) {
		ct, enc := "application/x-protobuf", ""
		if mode&1 != 0 {
			ct = "application/json"
		}
		if mode&2 != 0 {
			enc = "gzip"
		}
		s := newMemStore()
		h := newOTLPHandler(t, s, OTLPOptions{PromoteResourceAttributes: []string{"k8s.pod.name"}})
		w := postOTLP(h, body, ct, enc)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d (%s), want 200, 400 or 413", w.Code, w.Body)
		}
		if mode != 0 || w.Code != http.StatusOK {
			return
		}
		var req metricsv1.MetricsData
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Fatalf("answered 200 to a body that does not decode: %v", err)
		}
		js, err := protojson.Marshal(&req)
		if err != nil {
			return // Not every protobuf message has a JSON form (invalid UTF-8 was refused, NaN keys...).
		}
		s2 := newMemStore()
		w2 := postOTLP(newOTLPHandler(t, s2, OTLPOptions{PromoteResourceAttributes: []string{"k8s.pod.name"}}), js, "application/json", "")
		if w2.Code != http.StatusOK {
			t.Fatalf("the same request as JSON: status %d (%s), want 200", w2.Code, w2.Body)
		}
		a, b := storedBits(s), storedBits(s2)
		if len(a) != len(b) {
			t.Fatalf("protobuf stored %d series, JSON %d", len(a), len(b))
		}
		for k, v := range a {
			if got := b[k]; len(got) != len(v) {
				t.Fatalf("series %s: protobuf %v, JSON %v", k, v, got)
			}
		}
	})
}
