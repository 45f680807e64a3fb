package remote

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/gorilla-remote/gorilla-remote/model"
)

// NewMemStore returns the map-based store of the package's tests, for the
// contract test (package remote_test): the store, its committed samples of
// a series, and its close.
func NewMemStore() (Appendable, func(labels.Labels) ([]model.Sample, error), func() error) {
	s := newMemStore()
	return s, func(lset labels.Labels) ([]model.Sample, error) { return s.get(lset), nil }, s.close
}
