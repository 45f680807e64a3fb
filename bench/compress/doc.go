// Package compress measures what the Gorilla XOR chunk encoding makes of
// real data: it reads a remote-write capture file
// (docs/format/capture.md), encodes every series with package chunkenc and
// reports bytes per sample in total, for timestamps and for values, and by
// kind of series (constant, counter, integer gauge, two-decimal gauge,
// other float), against 16 bytes per sample raw and the capture's own
// snappy-compressed wire bytes.
//
//	rep, err := compress.Analyze("prom.rw", chunkenc.MaxSamples)
//	if err != nil { ... }
//	rep.WriteTable(os.Stdout)
//
// Method explains how timestamp and value bytes are told apart. The
// gorilla-remote compress command is a thin wrapper around Analyze.
package compress
