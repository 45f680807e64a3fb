// Package tenant names the tenants of a multi-tenant server: the request
// header that carries a tenant id, the rules an id must follow, and the
// context that carries it from the HTTP router to the handlers.
//
// The rules are Mimir's and Cortex's, so that the same senders and the
// same ids work against either: an id is 1 to MaxLength characters from
// [a-zA-Z0-9] and !-_.*'(), and is neither "." nor "..". An id is also a
// directory name on disk and a prefix in the bucket; the rules keep it a
// single path element.
package tenant

import (
	"context"
	"errors"
	"fmt"
)

// Header is the request header naming the tenant of a request, as Mimir,
// Cortex and Loki name it.
const Header = "X-Scope-OrgID"

// Anonymous is the one tenant of a server running without tenancy; every
// request belongs to it and the header is ignored.
const Anonymous = "anonymous"

// MaxLength is the longest tenant id accepted, in bytes.
const MaxLength = 150

// ErrInvalid is the error of Validate for an id that breaks the rules.
var ErrInvalid = errors.New("invalid tenant id")

// Validate returns nil if id is a valid tenant id, and an error matching
// ErrInvalid that says which rule it breaks otherwise.
func Validate(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case len(id) > MaxLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalid, MaxLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalid, id)
	}
	for i := 0; i < len(id); i++ {
		if !allowed(id[i]) {
			return fmt.Errorf("%w: character %q not allowed (only a-z, A-Z, 0-9 and !-_.*'())", ErrInvalid, rune(id[i]))
		}
	}
	return nil
}

// allowed reports whether c may appear in a tenant id.
func allowed(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '-', '_', '.', '*', '\'', '(', ')':
		return true
	}
	return false
}

type contextKey struct{}

// WithID returns a copy of ctx carrying the tenant id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the tenant id ctx carries, or Anonymous if it
// carries none.
func FromContext(ctx context.Context) string {
	if id, ok := ctx.Value(contextKey{}).(string); ok {
		return id
	}
	return Anonymous
}
