package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

// maxProblemLine is the longest problem line printed under a table.
const maxProblemLine = 300

// systemOrder is the column order of the table.
var systemOrder = []string{gorilla, gorillaFsync, prometheus, victoria}

// shortName abbreviates a system for the ratio column headers.
var shortName = map[string]string{gorilla: "gr", gorillaFsync: "fsync", prometheus: "prom", victoria: "vm"}

// formatTable lays rows out in columns: the first left-aligned, the others
// right-aligned, with a rule under the header.
func formatTable(header []string, rows [][]string) string {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i := range width {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(header)
	rule := make([]string, len(width))
	for i, w := range width {
		rule[i] = strings.Repeat("-", w)
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// formatNum prints a figure with about three significant digits; "-" when
// it is missing.
func formatNum(x float64) string {
	switch a := math.Abs(x); {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "-"
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1 || a == 0:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

// formatRatio prints a ratio as a multiplier; "-" when it is missing.
func formatRatio(r float64, ok bool) string {
	if !ok || math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%.2f×", r)
}

// scaleTable renders one load as a table: a row per figure any system has,
// a column per system and one ratio column per peer.
func scaleTable(s *scaleResult, fs []figure) string {
	var cols []*systemResult
	for _, name := range systemOrder {
		if r := s.system(name); r != nil {
			cols = append(cols, r)
		}
	}
	header := []string{fmt.Sprintf("%s (%d series, %d rounds)", s.Name, s.Series, s.Rounds)}
	var peers []string
	for _, c := range cols {
		header = append(header, c.System)
		if c.System != gorilla && s.system(gorilla) != nil {
			peers = append(peers, c.System)
		}
	}
	for _, p := range peers {
		header = append(header, "gr/"+shortName[p])
	}
	var rows [][]string
	for _, f := range fs {
		row, any := []string{f.label}, false
		for _, c := range cols {
			v := f.value(c)
			any = any || !math.IsNaN(v)
			if f.count && !math.IsNaN(v) {
				row = append(row, fmt.Sprintf("%.0f", v))
			} else {
				row = append(row, formatNum(v))
			}
		}
		if !any {
			continue
		}
		for _, p := range peers {
			r, ok := s.Ratios[p][f.key]
			row = append(row, formatRatio(r, ok))
		}
		rows = append(rows, row)
	}
	row := []string{"correctness check"}
	for _, c := range cols {
		row = append(row, checkText(c.Check))
	}
	rows = append(rows, row)
	return formatTable(header, rows)
}

func checkText(c *checkResult) string {
	switch {
	case c == nil:
		return "-"
	case c.Pass:
		return "pass"
	case c.Mismatches == 0 && c.Error == "" && c.SeriesGot == c.SeriesWant:
		return fmt.Sprintf("rounded (%d/%d)", c.Rounded, c.Checked)
	default:
		return "FAIL"
	}
}

// printReport writes every table, the problems and the targets to w.
func printReport(w io.Writer, rep *report, fs []figure) {
	fmt.Fprintln(w, "Versions:")
	for _, name := range []string{gorilla, prometheus, victoria} {
		if v, ok := rep.Machine.Versions[name]; ok {
			fmt.Fprintf(w, "  %s: %s\n", name, v)
		}
	}
	for i := range rep.Scales {
		s := &rep.Scales[i]
		fmt.Fprintln(w)
		fmt.Fprint(w, scaleTable(s, fs))
		for _, r := range s.Systems {
			for _, e := range problems(&r) {
				// The JSON has the whole text; a line each is enough here.
				line, _, _ := strings.Cut(e, "\n")
				fmt.Fprintf(w, "  %s: %s\n", r.System, clip(line, maxProblemLine))
			}
		}
	}
	printLongRun(w, rep.LongRun)
	if len(rep.Targets) > 0 {
		fmt.Fprintln(w, "\nTargets (ratios gorilla-remote / peer, from this run):")
	}
	for _, t := range rep.Targets {
		mark := "NOT held"
		if t.Held {
			mark = "held"
		}
		fmt.Fprintf(w, "  [%s] %s\n", mark, t.Text)
	}
}

// problems lists what went wrong for one system, for the report.
func problems(r *systemResult) []string {
	out := append([]string(nil), r.Errors...)
	for _, p := range r.Phases {
		for _, e := range p.Errors {
			out = append(out, fmt.Sprintf("%s: %s", p.Name, e))
		}
	}
	for _, q := range r.Queries {
		if q.Error != "" {
			out = append(out, fmt.Sprintf("query %q: %d of %d runs failed: %s", q.Query, q.Failures, q.Runs+q.Failures, q.Error))
		}
	}
	if r.Restart != nil && r.Restart.Error != "" {
		out = append(out, "restart: "+r.Restart.Error)
	}
	if c := r.Check; c != nil && !c.Pass {
		out = append(out, fmt.Sprintf("check: %d of %d series; of %d spot checks %d wrong, %d rounded to %d digits %s %v",
			c.SeriesGot, c.SeriesWant, c.Checked, c.Mismatches, c.Rounded, roundedDigits, c.Error, c.Examples))
	}
	return out
}

// writeJSON writes rep to path.
func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
