package main

import (
	"io"
	"os"
	"strconv"

	"github.com/alecthomas/kingpin/v2"

	"github.com/gorilla-remote/gorilla-remote/bench/compress"
	"github.com/gorilla-remote/gorilla-remote/chunkenc"
)

// compressCommand is `gorilla-remote compress`, over package
// bench/compress.
type compressCommand struct {
	cmd      *kingpin.CmdClause
	file     string
	json     bool
	perChunk int
}

func newCompressCommand(app *kingpin.Application) *compressCommand {
	c := &compressCommand{cmd: app.Command("compress", "Encode the series of a capture file with the Gorilla XOR chunk encoding and report bytes per sample, "+
		"in total, for timestamps and values, and by kind of series (constant, counter, integer gauge, two-decimal gauge, other float), "+
		"against 16 bytes/sample raw and the capture's compressed wire bytes.\n\n"+compress.Method)}
	c.cmd.Arg("file", "Capture file (docs/format/capture.md).").Required().StringVar(&c.file)
	c.cmd.Flag("json", "Print JSON instead of a table.").BoolVar(&c.json)
	c.cmd.Flag("samples-per-chunk", "Cut chunks after this many samples (Prometheus cuts at 120).").
		Default(strconv.Itoa(chunkenc.MaxSamples)).IntVar(&c.perChunk)
	return c
}

func (c *compressCommand) run() error { return c.exec(os.Stdout) }

func (c *compressCommand) exec(out io.Writer) error {
	rep, err := compress.Analyze(c.file, c.perChunk)
	if err != nil {
		return err
	}
	if c.json {
		return rep.WriteJSON(out)
	}
	return rep.WriteTable(out)
}
