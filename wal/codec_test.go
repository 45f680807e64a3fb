package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
)

// rleCodec is a run-length codec for tests: pairs of a run length (1..255)
// and a byte. It shortens runs and lengthens everything else, so a test
// decides which records the WAL compresses.
type rleCodec struct{ id uint8 }

func (c rleCodec) ID() uint8 { return c.id }

func (rleCodec) Encode(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		j := i + 1
		for j < len(src) && j-i < 255 && src[j] == src[i] {
			j++
		}
		dst = append(dst, byte(j-i), src[i])
		i = j
	}
	return dst
}

func (rleCodec) Decode(dst, src []byte, limit int) ([]byte, error) {
	if len(src)%2 != 0 {
		return nil, fmt.Errorf("rle: odd length %d", len(src))
	}
	n := 0
	for i := 0; i < len(src); i += 2 {
		if src[i] == 0 {
			return nil, fmt.Errorf("rle: empty run at %d", i)
		}
		if n += int(src[i]); n > limit {
			return nil, fmt.Errorf("rle: more than %d bytes", limit)
		}
	}
	for i := 0; i < len(src); i += 2 {
		dst = append(dst, bytes.Repeat(src[i+1:i+2], int(src[i]))...)
	}
	return dst, nil
}

// codecRecords are a record too short to compress, one the codec shortens
// and one it would lengthen.
func codecRecords() [][]byte {
	return [][]byte{bytes.Repeat([]byte{7}, minCompress-1), bytes.Repeat([]byte{0xab}, 300), testRecord(3, 100)}
}

// frames returns the length words of the frames of a segment's bytes.
func frames(t *testing.T, seg []byte) []uint32 {
	t.Helper()
	var out []uint32
	scanSegment(seg, func(off, _ int) { out = append(out, binary.LittleEndian.Uint32(seg[off:])) })
	return out
}

// TestCodecRoundTrip logs records through a compressing WAL: only the one
// the codec shortens is stored compressed, under the codec's id, and a
// Reader given the codec reads every record back as it was logged.
func TestCodecRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := rleCodec{id: 5}
	w := mustOpen(t, dir, Options{Compression: c})
	recs := codecRecords()
	if err := w.Log(recs...); err != nil {
		t.Fatal(err)
	}
	if err := w.Log(recs[1]); err != nil {
		t.Fatal(err)
	}
	wantBytes := len(recs[1])
	for _, r := range recs {
		wantBytes += len(r)
	}
	if st := w.Stats(); st.RecordBytes != uint64(wantBytes) || st.BytesWritten >= st.RecordBytes {
		t.Fatalf("Stats: %d record bytes and %d written, want %d record bytes and fewer written", st.RecordBytes, st.BytesWritten, wantBytes)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seg, err := os.ReadFile(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	words := frames(t, seg)
	want := []uint32{frameWord(minCompress-1, 0), frameWord(4, 5), frameWord(100, 0), frameWord(4, 5)}
	if fmt.Sprint(words) != fmt.Sprint(want) {
		t.Fatalf("frame length words %x, want %x", words, want)
	}
	got, err := readAll(t, dir, 0, -1, c)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, append(recs, recs[1]))
}

// TestUnknownCodec reads a compressed frame without its codec: the Reader
// stops with ErrUnknownCodec, which is not corruption, and Open leaves the
// segment whole, since the frame is intact.
func TestUnknownCodec(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{Compression: rleCodec{id: 1}})
	if err := w.Log(codecRecords()...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, dir, 0, 0, rleCodec{id: 2})
	if !errors.Is(err, ErrUnknownCodec) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("read without the codec: %v, want ErrUnknownCodec and no ErrCorrupt", err)
	}
	equalRecords(t, recs, codecRecords()[:1])
	w2 := mustOpen(t, dir, Options{})
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() {
		t.Fatalf("Open changed the segment from %d to %d bytes", before.Size(), after.Size())
	}
}

// TestCodecBitsChecked flips each codec bit of a compressed and of a plain
// frame: the checksum covers the codec id, so each flip reads as a
// corrupt frame, never as a payload of another codec.
func TestCodecBitsChecked(t *testing.T) {
	var codecs []Codec
	for id := uint8(1); id <= MaxCodecID; id++ {
		codecs = append(codecs, rleCodec{id: id})
	}
	for _, rec := range [][]byte{codecRecords()[1], codecRecords()[2]} {
		framed, _ := appendCompressed(nil, rec, rleCodec{id: 6}, nil)
		for bit := codecShift; bit < 32; bit++ {
			dir := t.TempDir()
			bad := bytes.Clone(framed)
			binary.LittleEndian.PutUint32(bad, binary.LittleEndian.Uint32(bad)^1<<bit)
			if err := os.WriteFile(segmentPath(dir, 0), bad, 0o666); err != nil {
				t.Fatal(err)
			}
			if _, err := readAll(t, dir, 0, 0, codecs...); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %d of the length word flipped: %v, want ErrCorrupt", bit, err)
			}
		}
	}
}

// TestCodecDecodeFailure stores a frame whose checksum is right but whose
// payload the codec refuses: the Reader reports it as corruption at the
// frame's offset.
func TestCodecDecodeFailure(t *testing.T) {
	dir := t.TempDir()
	payload := []byte{3, 'a', 0, 'b'} // an empty run
	seg := appendRecord(nil, []byte("first"))
	off := len(seg)
	seg = binary.LittleEndian.AppendUint32(seg, frameWord(len(payload), 4))
	seg = binary.LittleEndian.AppendUint32(seg, frameCRC(4, payload))
	seg = append(seg, payload...)
	if err := os.WriteFile(segmentPath(dir, 0), seg, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := readAll(t, dir, 0, 0, rleCodec{id: 4})
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Offset != int64(off) {
		t.Fatalf("got %v, want a *CorruptionError at offset %d", err, off)
	}
}

// TestCodecOptions refuses codecs whose id does not fit a frame, and lists
// the codecs of a WAL with the one it writes first.
func TestCodecOptions(t *testing.T) {
	for _, id := range []uint8{0, MaxCodecID + 1} {
		if _, err := Open(t.TempDir(), Options{Compression: rleCodec{id: id}}); err == nil {
			t.Fatalf("Open accepted a codec with id %d", id)
		}
		if _, err := Open(t.TempDir(), Options{Codecs: []Codec{rleCodec{id: id}}}); err == nil {
			t.Fatalf("Open accepted a further codec with id %d", id)
		}
		if _, err := NewReader(t.TempDir(), 0, -1, rleCodec{id: id}); err == nil {
			t.Fatalf("NewReader accepted a codec with id %d", id)
		}
	}
	w := mustOpen(t, t.TempDir(), Options{Compression: rleCodec{id: 3}, Codecs: []Codec{rleCodec{id: 1}, nil}})
	if got := fmt.Sprint(w.Codecs()); got != "[{3} {1}]" {
		t.Fatalf("Codecs() = %s, want [{3} {1}]", got)
	}
}

// TestGoldenCodecFrame pins a compressed frame field by field: the codec
// id in the top four bits of the length word, and the CRC-32C of the id
// byte followed by the payload (0x0cdf91c8, computed bit by bit outside
// Go).
func TestGoldenCodecFrame(t *testing.T) {
	got, _ := appendCompressed(nil, bytes.Repeat([]byte{'g'}, 70), rleCodec{id: 2}, nil)
	want := "02000020" + "c891df0c" + "4667"
	if hex.EncodeToString(got) != want {
		t.Fatalf("compressed frame: got %x, want %s", got, want)
	}
}

// TestGoldenCodecSegment pins the bytes of a segment written with a codec
// in testdata/segment_codec.hex, and reads those bytes back. Regenerate
// with go test ./wal/ -run TestGoldenCodecSegment -update, only for an
// intended format change.
func TestGoldenCodecSegment(t *testing.T) {
	const path = "testdata/segment_codec.hex"
	dir := t.TempDir()
	w := mustOpen(t, dir, Options{Fsync: FsyncAlways, Compression: rleCodec{id: 1}})
	if err := w.Log(codecRecords()...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(segmentPath(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(formatHex(got)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readHex(t, path)
	if !bytes.Equal(got, want) {
		t.Fatalf("segment bytes differ from %s:\n got %x\nwant %x", path, got, want)
	}
	rdir := t.TempDir()
	if err := os.WriteFile(segmentPath(rdir, 0), want, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, rdir, 0, 0, rleCodec{id: 1})
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	equalRecords(t, recs, codecRecords())
}

// FuzzCodecFrames reads arbitrary bytes as a segment with a codec for
// every id: reading ends with nil or a *CorruptionError, never a panic,
// and every record read is its frame's payload decoded by its codec.
func FuzzCodecFrames(f *testing.F) {
	fuzzSeeds(f)
	seg, _ := appendCompressed(nil, bytes.Repeat([]byte{1}, 200), rleCodec{id: 1}, nil)
	seg, _ = appendCompressed(seg, testRecord(1, 80), rleCodec{id: 1}, nil)
	f.Add(seg)
	var codecs []Codec
	for id := uint8(1); id <= MaxCodecID; id++ {
		codecs = append(codecs, rleCodec{id: id})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(segmentPath(dir, 0), data, 0o666); err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, dir, 0, -1, codecs...)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not corruption", err)
		}
		var want [][]byte
		scanSegment(data, func(off, end int) {
			n, id := splitWord(binary.LittleEndian.Uint32(data[off:]))
			payload := data[off+headerSize : off+headerSize+n]
			if id != 0 {
				var derr error
				if payload, derr = (rleCodec{}).Decode(nil, payload, MaxSegmentSize); derr != nil || len(payload) == 0 {
					payload = nil
				}
			}
			want = append(want, payload)
		})
		if len(recs) > len(want) {
			t.Fatalf("read %d records from %d intact frames", len(recs), len(want))
		}
		equalRecords(t, recs, want[:len(recs)])
	})
}

// TestCheckpointCompressed writes a checkpoint through a compressing WAL:
// its records are stored under the WAL's codec and read back whole.
func TestCheckpointCompressed(t *testing.T) {
	dir := t.TempDir()
	c := rleCodec{id: 9}
	w := mustOpen(t, dir, Options{Compression: c})
	if err := w.Log(testRecord(1, 10)); err != nil {
		t.Fatal(err)
	}
	next, err := w.Cut()
	if err != nil {
		t.Fatal(err)
	}
	recs := codecRecords()
	err = w.Checkpoint(next-1, func(log func([]byte) error) error {
		for _, r := range recs {
			if err := log(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path, upTo, err := LastCheckpoint(dir)
	if err != nil || upTo != next-1 {
		t.Fatalf("LastCheckpoint: %d, %v; want %d", upTo, err, next-1)
	}
	seg, err := os.ReadFile(segmentPath(path, 0))
	if err != nil {
		t.Fatal(err)
	}
	if words := frames(t, seg); len(words) != 3 || words[1] != frameWord(4, 9) {
		t.Fatalf("checkpoint frames %x, want the second compressed under codec 9", words)
	}
	r, err := NewCheckpointReader(path, c)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got [][]byte
	for r.Next() {
		got = append(got, bytes.Clone(r.Record()))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, recs)
}
