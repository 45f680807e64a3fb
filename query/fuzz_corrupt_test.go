package query

import (
	"testing"

	"github.com/gorilla-remote/gorilla-remote/chunkenc"
	"github.com/gorilla-remote/gorilla-remote/model"
)

// FuzzCheckChunk feeds arbitrary chunk bytes to the check a select runs on
// every block chunk: it never panics, and a chunk it accepts decodes its
// first sample at the MinTime it was given.
func FuzzCheckChunk(f *testing.F) {
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		f.Fatal(err)
	}
	for i := range int64(5) {
		if err := app.Append(1000+i*15_000, float64(i)); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(c.Bytes(), int64(1000))
	f.Add(c.Bytes()[:3], int64(1000))
	f.Add([]byte{0, 0}, int64(0))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, mint int64) {
		if checkChunk(model.Chunk{MinT: mint, Data: data}) != nil {
			return
		}
		it := chunkenc.NewIterator(data)
		if !it.Next() {
			t.Fatalf("accepted a chunk without a first sample: %v", it.Err())
		}
		if ts, _ := it.At(); ts != mint {
			t.Fatalf("accepted a chunk starting at %d for MinTime %d", ts, mint)
		}
	})
}
