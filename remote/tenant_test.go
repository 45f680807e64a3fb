package remote

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/gorilla-remote/gorilla-remote/limits"
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

// TestWriteRequestSizePerTenant: the decompressed body is bounded by the
// request's tenant's max_request_bytes, so a tenant with a smaller
// override is refused with 413 a request its neighbour may send.
func TestWriteRequestSizePerTenant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.yml")
	require.NoError(t, os.WriteFile(path, []byte("overrides:\n  small:\n    max_request_bytes: 10\n"), 0o600))
	base := limits.Defaults()
	base.MaxRequestBytes = 1000
	ov, err := limits.NewOverrides(base, path)
	require.NoError(t, err)
	opts := fixedOpts()
	opts.Limits = ov
	s := &tenantStores{stores: map[string]*memStore{}}
	h := newHandler(t, s, opts)
	body := encodeRW1(t, series1(lbls("__name__", "up"), prompb.Sample{Timestamp: 1000, Value: 1}))
	send := func(id string) *httptest.ResponseRecorder {
		return post(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(tenant.WithID(r.Context(), id)))
		}), body)
	}
	require.Equal(t, http.StatusNoContent, send("big").Code)
	w := send("small")
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
	require.Contains(t, w.Body.String(), "larger than the limit of 10 (max_request_bytes)")
	require.Nil(t, s.stores["small"], "nothing of a refused request is stored")
}
