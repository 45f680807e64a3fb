package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Checkpoint writes a checkpoint covering segments up to and including
// upTo, then deletes those segments and older checkpoints. write is called
// once and logs the checkpoint's records through the function it is given
// (records must be non-empty and at most MaxSegmentSize-8 bytes); its error
// aborts the checkpoint and leaves the WAL as it was.
//
// The steps, each leaving a WAL that replays correctly if the process dies
// right after it (see docs/format/wal.md):
//
//  1. write dir/checkpoint.<upTo>.tmp as a segment directory and fsync its
//     files and itself; a leftover .tmp is ignored and Open removes it;
//  2. rename it to dir/checkpoint.<upTo> and fsync dir: this is the commit
//     point, after which replay starts from the new checkpoint and ignores
//     segments <= upTo;
//  3. delete segments <= upTo and older checkpoints, logging each; what a
//     crash leaves of them is ignored and removed by the next Open.
//
// The caller guarantees that segment upTo is no longer written (WAL.Cut
// returns upTo+1) and that checkpoints are not written concurrently in dir.
// upTo must be above the newest existing checkpoint's.
//
// Checkpoint writes every record uncompressed; WAL.Checkpoint compresses
// them as the WAL's own records are.
func Checkpoint(dir string, upTo int, write func(log func(rec []byte) error) error, logger *slog.Logger) error {
	return checkpoint(dir, upTo, write, logger, nil)
}

// Checkpoint is the package's Checkpoint on the WAL's directory, with its
// logger, compressing the records with Options.Compression as Log does.
// The same rules apply: segment upTo is no longer written, and no other
// checkpoint of the directory is written concurrently.
func (w *WAL) Checkpoint(upTo int, write func(log func(rec []byte) error) error) error {
	return checkpoint(w.dir, upTo, write, w.opts.Logger, w.opts.Compression)
}

// checkpoint is Checkpoint, compressing with codec unless it is nil.
func checkpoint(dir string, upTo int, write func(log func(rec []byte) error) error, logger *slog.Logger, codec Codec) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if upTo < 0 {
		return fmt.Errorf("wal: checkpoint up to invalid segment %d", upTo)
	}
	if _, last, err := LastCheckpoint(dir); err == nil && last >= upTo {
		return fmt.Errorf("wal: checkpoint up to segment %d: checkpoint up to %d exists", upTo, last)
	} else if err != nil && !errors.Is(err, ErrNoCheckpoint) {
		return err
	}
	final := filepath.Join(dir, checkpointName(upTo))
	tmp := final + tmpSuffix
	if err := writeCheckpointDir(tmp, write, codec); err != nil {
		return errors.Join(fmt.Errorf("write checkpoint %s: %w", tmp, err), os.RemoveAll(tmp))
	}
	if err := os.Rename(tmp, final); err != nil {
		return errors.Join(fmt.Errorf("commit checkpoint: %w", err), os.RemoveAll(tmp))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("commit checkpoint %s: %w", final, err)
	}
	return deleteCovered(dir, upTo, logger)
}

// checkpointName returns the directory name of the checkpoint up to upTo.
func checkpointName(upTo int) string { return checkpointPrefix + segmentName(upTo) }

// writeCheckpointDir creates path afresh and fills it through write,
// compressing with codec unless it is nil.
func writeCheckpointDir(path string, write func(log func(rec []byte) error) error, codec Codec) error {
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	if err := os.Mkdir(path, 0o777); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	sw := &segmentWriter{dir: path, idx: -1, codec: codec}
	if err := write(sw.log); err != nil {
		return errors.Join(err, sw.close())
	}
	if err := sw.close(); err != nil {
		return err
	}
	return syncDir(path)
}

// deleteCovered removes the segments <= upTo and the checkpoints older than
// checkpoint.<upTo> from dir, oldest first.
func deleteCovered(dir string, upTo int, logger *slog.Logger) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	removed := 0
	for _, s := range segs {
		if s > upTo {
			break
		}
		if err := os.Remove(segmentPath(dir, s)); err != nil {
			return fmt.Errorf("delete segment %d covered by checkpoint %d: %w", s, upTo, err)
		}
		removed++
	}
	if removed > 0 {
		logger.Info("deleted WAL segments covered by checkpoint", "dir", dir,
			"first", segs[0], "last", segs[removed-1], "checkpoint", upTo)
	}
	cps, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for _, cp := range cps {
		if cp.upTo >= upTo || cp.tmp {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, cp.name)); err != nil {
			return fmt.Errorf("delete old checkpoint %s: %w", cp.name, err)
		}
		logger.Info("deleted old WAL checkpoint", "dir", dir, "checkpoint", cp.name)
	}
	return nil
}

// cleanCheckpoints is Open's part of the checkpoint protocol: it removes
// unfinished checkpoint.*.tmp directories, then whatever the newest
// checkpoint makes obsolete, and returns the newest checkpoint's upTo, or
// -1 if there is none.
func cleanCheckpoints(dir string, logger *slog.Logger) (int, error) {
	cps, err := listCheckpoints(dir)
	if err != nil {
		return 0, err
	}
	upTo := -1
	for _, cp := range cps {
		if !cp.tmp {
			upTo = max(upTo, cp.upTo)
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, cp.name)); err != nil {
			return 0, fmt.Errorf("remove unfinished checkpoint %s: %w", cp.name, err)
		}
		logger.Info("removed unfinished WAL checkpoint", "dir", dir, "checkpoint", cp.name)
	}
	if upTo < 0 {
		return -1, nil
	}
	if err := deleteCovered(dir, upTo, logger); err != nil {
		return 0, err
	}
	return upTo, nil
}

// LastCheckpoint returns the path of the newest completed checkpoint in dir
// and the last segment it covers, or ErrNoCheckpoint.
func LastCheckpoint(dir string) (path string, upTo int, err error) {
	cps, err := listCheckpoints(dir)
	if err != nil {
		return "", -1, err
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if !cps[i].tmp {
			return filepath.Join(dir, cps[i].name), cps[i].upTo, nil
		}
	}
	return "", -1, ErrNoCheckpoint
}

// NewCheckpointReader returns a Reader over all segments of the checkpoint
// directory at path, as returned by LastCheckpoint. They must run from
// segment 0 without a gap, or the error matches ErrMissingSegment. codecs
// are as for NewReader.
func NewCheckpointReader(path string, codecs ...Codec) (*Reader, error) {
	segs, err := listSegments(path)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return NewReader(path, 0, -1, codecs...)
	}
	return NewReader(path, 0, segs[len(segs)-1], codecs...)
}

// segmentWriter writes the records of a checkpoint, one caller at a time,
// cutting segments of at most MaxSegmentSize. Each segment is fsynced before
// it is closed.
type segmentWriter struct {
	dir  string
	idx  int // current segment, -1 before the first
	f    *os.File
	size int64
	buf  []byte // framed records not yet written

	codec   Codec  // compresses records unless nil
	scratch []byte // the compressed form of the record being framed
}

// flushAt is how much a segmentWriter buffers before writing.
const flushAt = 1 << 20

// log frames rec into the current segment.
func (sw *segmentWriter) log(rec []byte) error {
	if err := checkRecord(rec, MaxSegmentSize); err != nil {
		return err
	}
	framed := len(sw.buf)
	if sw.codec != nil {
		sw.buf, sw.scratch = appendCompressed(sw.buf, rec, sw.codec, sw.scratch)
	} else {
		sw.buf = appendRecord(sw.buf, rec)
	}
	// The frame is appended first, compressed, so that its size is known;
	// if it does not fit, what came before it is written to this segment
	// and the frame starts the next.
	if n := int64(len(sw.buf) - framed); sw.f == nil || sw.size+int64(framed)+n > MaxSegmentSize {
		frame := append([]byte(nil), sw.buf[framed:]...)
		sw.buf = sw.buf[:framed]
		if err := sw.next(); err != nil {
			return err
		}
		sw.buf = append(sw.buf, frame...)
	}
	if len(sw.buf) >= flushAt {
		return sw.flush()
	}
	return nil
}

// next closes the current segment, if any, and creates the next one.
func (sw *segmentWriter) next() error {
	if err := sw.close(); err != nil {
		return err
	}
	sw.idx++
	f, err := os.OpenFile(segmentPath(sw.dir, sw.idx), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return fmt.Errorf("create checkpoint segment %d: %w", sw.idx, err)
	}
	sw.f, sw.size = f, 0
	return nil
}

func (sw *segmentWriter) flush() error {
	n, err := sw.f.Write(sw.buf)
	sw.size += int64(n)
	sw.buf = sw.buf[:0]
	if err != nil {
		return fmt.Errorf("write checkpoint segment %d: %w", sw.idx, err)
	}
	return nil
}

// close writes, fsyncs and closes the current segment. Safe to repeat.
func (sw *segmentWriter) close() error {
	if sw.f == nil {
		return nil
	}
	err := sw.flush()
	if err == nil {
		if err = sw.f.Sync(); err != nil {
			err = fmt.Errorf("fsync checkpoint segment %d: %w", sw.idx, err)
		}
	}
	if cerr := sw.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close checkpoint segment %d: %w", sw.idx, cerr)
	}
	sw.f = nil
	return err
}
