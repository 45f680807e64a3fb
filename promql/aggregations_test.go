package promql

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"github.com/thanos-io/objstore/providers/filesystem"

	"github.com/gorilla-remote/gorilla-remote/block"
	"github.com/gorilla-remote/gorilla-remote/head"
	"github.com/gorilla-remote/gorilla-remote/query"
)

// aggValue is the value of x{i} at minute m of the aggregation fixture.
func aggValue(i, m int) float64 { return float64(10*i + m%7) }

// newBlocksAPI serves four series x{i="0".."3"}, one sample a minute for six
// hours: the first two 2h windows from blocks in a filesystem bucket (the
// head has released them), the last from the head.
func newBlocksAPI(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := head.Open(head.Options{Dir: t.TempDir(), MaintenanceInterval: -1, Retention: 100 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	app := h.Appender()
	for m := range 360 {
		for i := range 4 {
			_, err := app.Append(0, labels.FromStrings("__name__", "x", "i", strconv.Itoa(i)), int64(m)*60_000, aggValue(i, m))
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	bkt, err := filesystem.NewBucket(t.TempDir())
	require.NoError(t, err)
	staging := t.TempDir()
	window := (2 * time.Hour).Milliseconds()
	for w := range int64(2) {
		series, err := h.WindowSeries(context.Background(), w*window, (w+1)*window-1)
		require.NoError(t, err)
		meta, err := block.Write(context.Background(), staging, w*window, (w+1)*window, series, block.WriteOptions{})
		require.NoError(t, err)
		require.NoError(t, block.Upload(context.Background(), bkt, filepath.Join(staging, meta.ULID.String())))
	}
	h.Truncate(2 * window)
	store, err := block.NewStore(block.StoreOptions{Bucket: bkt, CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	require.NoError(t, store.Sync(context.Background()))
	api, err := NewAPI(APIOptions{Engine: newEngine(t, EngineOptions{}), Queryable: query.NewWithBlocks(h, store)})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

// instantScalar runs an instant query that yields one sample.
func instantScalar(t *testing.T, srv *httptest.Server, q string, minute int) float64 {
	t.Helper()
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	code, body := get(t, srv, "/api/v1/query", url.Values{"query": {q}, "time": {strconv.Itoa(minute * 60)}})
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	require.Len(t, out.Data.Result, 1, "%s at minute %d: %s", q, minute, body)
	v, err := strconv.ParseFloat(out.Data.Result[0].Value[1].(string), 64)
	require.NoError(t, err)
	return v
}

// TestAggregationsOverBlocksAndHead checks PromQL's aggregations and their
// _over_time forms through the API, at times answered from blocks and from
// the head, against values computed here.
func TestAggregationsOverBlocksAndHead(t *testing.T) {
	srv := newBlocksAPI(t)
	for _, minute := range []int{30, 150, 300} { // block, block, head
		vals := make([]float64, 4)
		for i := range vals {
			vals[i] = aggValue(i, minute)
		}
		mean := (vals[0] + vals[1] + vals[2] + vals[3]) / 4
		var sq float64
		for _, v := range vals {
			sq += (v - mean) * (v - mean)
		}
		cases := map[string]float64{
			"sum(x)":           vals[0] + vals[1] + vals[2] + vals[3],
			"avg(x)":           mean,
			"min(x)":           vals[0],
			"max(x)":           vals[3],
			"stddev(x)":        math.Sqrt(sq / 4),
			"quantile(0.5, x)": (vals[1] + vals[2]) / 2,
			"count(x)":         4,
		}
		for q, want := range cases {
			require.InDelta(t, want, instantScalar(t, srv, q, minute), 1e-9, "%s at minute %d", q, minute)
		}

		// Over time, for x{i="1"}: the ten samples in (t-10m, t].
		var window []float64
		for m := minute - 9; m <= minute; m++ {
			window = append(window, aggValue(1, m))
		}
		sort.Float64s(window)
		var sum, sq2 float64
		for _, v := range window {
			sum += v
		}
		avg := sum / float64(len(window))
		for _, v := range window {
			sq2 += (v - avg) * (v - avg)
		}
		overTime := map[string]float64{
			`sum_over_time(x{i="1"}[10m])`:           sum,
			`avg_over_time(x{i="1"}[10m])`:           avg,
			`min_over_time(x{i="1"}[10m])`:           window[0],
			`max_over_time(x{i="1"}[10m])`:           window[len(window)-1],
			`stddev_over_time(x{i="1"}[10m])`:        math.Sqrt(sq2 / float64(len(window))),
			`quantile_over_time(0.5, x{i="1"}[10m])`: (window[4] + window[5]) / 2,
			`count_over_time(x{i="1"}[10m])`:         10,
		}
		for q, want := range overTime {
			require.InDelta(t, want, instantScalar(t, srv, q, minute), 1e-9, "%s at minute %d", q, minute)
		}
	}
}
