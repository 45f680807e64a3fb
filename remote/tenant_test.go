package remote

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/tenant"
)

// tenantStores is a TenantAppendable of one memStore per tenant.
type tenantStores struct {
	stores map[string]*memStore
	err    error // returned by TenantAppender when set
}

func (s *tenantStores) Appender() Appender { panic("Appender called on a TenantAppendable") }

func (s *tenantStores) TenantAppender(id string) (Appender, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.stores[id] == nil {
		s.stores[id] = newMemStore()
	}
	return s.stores[id].Appender(), nil
}

// TestWriteToRequestTenant: a request is appended to the store of the
// tenant its context names, and to Anonymous's without one; a store that
// cannot be opened answers 500.
func TestWriteToRequestTenant(t *testing.T) {
	s := &tenantStores{stores: map[string]*memStore{}}
	h := newHandler(t, s, fixedOpts())
	body := encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1000, Value: 1}))
	send := func(id string) int {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/write", nil)
		if id != "" {
			r = r.WithContext(tenant.WithID(r.Context(), id))
		}
		w := post(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			h.ServeHTTP(w, req.WithContext(r.Context()))
		}), body)
		return w.Code
	}
	require.Equal(t, http.StatusNoContent, send("a"))
	require.Equal(t, http.StatusNoContent, send(""))
	require.Len(t, s.stores["a"].get(labels.FromStrings("__name__", "up")), 1)
	require.Len(t, s.stores[tenant.Anonymous].get(labels.FromStrings("__name__", "up")), 1)
	require.Len(t, s.stores, 2)

	s.err = errors.New("disk gone")
	require.Equal(t, http.StatusInternalServerError, send("b"))
}
