package loadgen

import "testing"

func TestParseStatTicks(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 1200 and 345. The command name
	// holds a space and a ')' to make sure fields are counted from the last.
	const stat = "4242 (victoria) metrics) S 1 4242 4242 0 -1 4194560 19440 0 0 0 1200 345 0 0 20 0 9 0 1234 1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := parseStatTicks(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 1545 {
		t.Fatalf("got %d ticks, want 1545", got)
	}
	for _, bad := range []string{"", "1 (x S 1 2", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 a 2 3"} {
		if _, err := parseStatTicks(bad); err == nil {
			t.Errorf("parseStatTicks(%q): no error", bad)
		}
	}
}
