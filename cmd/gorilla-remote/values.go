package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// durationValue is a flag value holding a duration. It takes Prometheus's
// durations (1d, 2w, 1h30m) and Go's (1.5h, 250ms), so that the flags and
// the config file accept the same values.
type durationValue struct{ d *time.Duration }

// Set parses s, a Prometheus duration or else a Go one.
func (v durationValue) Set(s string) error {
	if d, err := model.ParseDuration(s); err == nil {
		*v.d = time.Duration(d)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration: %q (want e.g. 30s, 5m, 2h, 1d)", s)
	}
	*v.d = d
	return nil
}

func (v durationValue) String() string { return v.d.String() }

// parseBytes parses a byte size: a plain number of bytes, or a number with
// a unit as Prometheus's flags take them (KiB, MiB, GiB, TiB, and KB, MB,
// GB, TB as their base-2 synonyms).
func parseBytes(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	n, err := units.ParseBase2Bytes(s)
	if err != nil {
		return 0, fmt.Errorf("not a byte size: %q (want e.g. 1048576, 512MiB, 10GiB)", s)
	}
	return int64(n), nil
}

// bytesValue is a flag value holding a byte size in an int64.
type bytesValue struct{ n *int64 }

// Set parses s with parseBytes.
func (v bytesValue) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

func (v bytesValue) String() string { return strconv.FormatInt(*v.n, 10) }

// intBytesValue is a flag value holding a byte size in an int.
type intBytesValue struct{ n *int }

// Set parses s with parseBytes.
func (v intBytesValue) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	if int64(int(n)) != n {
		return fmt.Errorf("byte size %q too large", s)
	}
	*v.n = int(n)
	return nil
}

func (v intBytesValue) String() string { return strconv.Itoa(*v.n) }

// namedValue is a flag's value that names the flag in its parse errors
// (kingpin reports a value's error as it is).
type namedValue struct {
	name string
	kingpin.Value
}

// Set parses s into the flag's value.
func (v namedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %w", v.name, err)
	}
	return nil
}

// IsBoolFlag tells kingpin whether the flag takes no value (and has a
// --no- form), as the wrapped value says.
func (v namedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// IsCumulative tells kingpin whether the flag may be repeated, as the
// wrapped value says.
func (v namedValue) IsCumulative() bool {
	c, ok := v.Value.(interface{ IsCumulative() bool })
	return ok && c.IsCumulative()
}
