package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	valid := []string{"a", "team-1", "A.b_c", "!-_.*'()", "...", strings.Repeat("x", MaxLength)}
	for _, id := range valid {
		if err := Validate(id); err != nil {
			t.Fatalf("Validate(%q) = %v, want nil", id, err)
		}
	}
	invalid := []string{"", ".", "..", "a/b", "a b", "é", "a\x00", "a:b", strings.Repeat("x", MaxLength+1)}
	for _, id := range invalid {
		if err := Validate(id); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

func TestContext(t *testing.T) {
	if got := FromContext(context.Background()); got != Anonymous {
		t.Fatalf("FromContext(empty) = %q, want %q", got, Anonymous)
	}
	if got := FromContext(WithID(context.Background(), "a")); got != "a" {
		t.Fatalf("FromContext = %q, want a", got)
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", strings.Repeat("x", 151)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if Validate(id) == nil && (strings.ContainsAny(id, "/\\") || id == "." || id == ".." || len(id) > MaxLength || id == "") {
			t.Fatalf("Validate(%q) accepted an id that is not one path element", id)
		}
	})
}
