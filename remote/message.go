package remote

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxErrorBody bounds the message of an error answer. Messages quote what
// the client sent (labels, symbols); a sender logs the answer, so a
// hostile or broken one must not get back a copy of its own huge request.
const maxErrorBody = 1024

// Bounds of what an error message quotes of a refused series, so that the
// answer stays near maxErrorBody however large the series: each label
// name and value, all the labels together, and the reason.
const (
	maxMessageValue    = 128
	maxFormattedLabels = 512
	maxReasonBytes     = 256
)

// formatLabels renders ls like {a="b", c="d"} for an error message, in at
// most about maxFormattedLabels bytes: the labels that do not fit are
// counted ({a="b", and 9998 more labels}).
func formatLabels(ls []labelRef) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range ls {
		mark := sb.Len()
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s=%q", truncateMessage(l.name, maxMessageValue), truncateMessage(l.value, maxMessageValue))
		if sb.Len() > maxFormattedLabels && i > 0 {
			return fmt.Sprintf("%s, and %d more labels}", sb.String()[:mark], len(ls)-i)
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// truncateMessage returns s when it has at most n bytes; otherwise its
// first n bytes or fewer, cut at a UTF-8 boundary, and how many bytes were
// left out. The result may exceed n by the length of that note.
func truncateMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}
