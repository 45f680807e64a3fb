package promql

import (
	"cmp"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// metadataEntry is one metric family's metadata in /api/v1/metadata.
type metadataEntry struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// metadata answers {"<family>":[{"type":..,"help":..,"unit":..}]}; metric
// selects one family, limit caps the number of families.
func (a *API) metadata(r *http.Request) (any, *apiError) {
	limit, aerr := limitParam(r)
	if aerr != nil {
		return nil, aerr
	}
	out := map[string][]metadataEntry{}
	if a.opts.Metadata == nil {
		return out, nil
	}
	all := a.opts.Metadata.Metadata()
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	slices.Sort(names)
	metric := r.FormValue("metric")
	for _, name := range names {
		if metric != "" && name != metric {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		m := all[name]
		out[name] = []metadataEntry{{Type: m.Type, Help: m.Help, Unit: m.Unit}}
	}
	return out, nil
}

// tsdbStatus is the data of /api/v1/status/tsdb.
type tsdbStatus struct {
	HeadStats                   headStatsJSON `json:"headStats"`
	SeriesCountByMetricName     []stat        `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []stat        `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []stat        `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []stat        `json:"seriesCountByLabelValuePair"`
}

// headStatsJSON adds the Gorilla compression ratio to Prometheus's fields.
type headStatsJSON struct {
	NumSeries      int     `json:"numSeries"`
	NumLabelPairs  int     `json:"numLabelPairs"`
	ChunkCount     int     `json:"chunkCount"`
	NumSamples     int     `json:"numSamples"`
	BytesPerSample float64 `json:"bytesPerSample"`
	MinTime        int64   `json:"minTime"`
	MaxTime        int64   `json:"maxTime"`
}

type stat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// tsdbStatus walks every series once (labels only) to rank metric names
// and label pairs; limit (default 10) is the length of each ranking.
func (a *API) tsdbStatus(r *http.Request) (any, *apiError) {
	limit := 10
	if v := r.FormValue("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, badData("invalid parameter \"limit\": %q is not a positive integer", v)
		}
		limit = n
	}
	var hs HeadStats
	if a.opts.HeadStats != nil {
		hs = a.opts.HeadStats()
	}
	if hs.Series == 0 {
		hs.MinTime, hs.MaxTime = 0, 0
	}
	q, err := a.opts.Queryable.Querier(minTimeMs, maxTimeMs)
	if err != nil {
		return nil, &apiError{errInternal, err}
	}
	defer q.Close()
	byName := map[string]uint64{}
	byPair := map[string]uint64{}
	values := map[string]map[string]struct{}{}
	bytesByName := map[string]uint64{}
	set := q.Select(r.Context(), false, &storage.SelectHints{Start: minTimeMs, End: maxTimeMs, Func: "series"},
		labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	for set.Next() {
		set.At().Labels().Range(func(l labels.Label) {
			if l.Name == labels.MetricName {
				byName[l.Value]++
			}
			byPair[l.Name+"="+l.Value]++
			if values[l.Name] == nil {
				values[l.Name] = map[string]struct{}{}
			}
			if _, ok := values[l.Name][l.Value]; !ok {
				values[l.Name][l.Value] = struct{}{}
				bytesByName[l.Name] += uint64(len(l.Value))
			}
		})
	}
	if err := set.Err(); err != nil {
		return nil, classify(err, 0)
	}
	valueCount := make(map[string]uint64, len(values))
	for name, vs := range values {
		valueCount[name] = uint64(len(vs))
	}
	return tsdbStatus{
		HeadStats: headStatsJSON{
			NumSeries: hs.Series, NumLabelPairs: len(byPair), ChunkCount: hs.Chunks, NumSamples: hs.Samples,
			BytesPerSample: hs.BytesPerSample, MinTime: hs.MinTime, MaxTime: hs.MaxTime,
		},
		SeriesCountByMetricName:     top(byName, limit),
		LabelValueCountByLabelName:  top(valueCount, limit),
		MemoryInBytesByLabelName:    top(bytesByName, limit),
		SeriesCountByLabelValuePair: top(byPair, limit),
	}, nil
}

// top returns the n largest counts, largest first, ties by name.
func top(m map[string]uint64, n int) []stat {
	out := make([]stat, 0, len(m))
	for k, v := range m {
		out = append(out, stat{k, v})
	}
	slices.SortFunc(out, func(a, b stat) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out[:min(n, len(out))]
}

// ServerStatus holds the sources of the server's status endpoints. Each
// func is called once per request, from any goroutine, and must be safe for
// concurrent use; a nil func gives that endpoint's zero answer.
type ServerStatus struct {
	// Config returns the effective configuration as YAML, secrets masked:
	// /api/v1/status/config answers {"yaml": Config()}.
	Config func() string
	// Flags returns every server flag by name (no leading dashes) with
	// its value as text: /api/v1/status/flags answers it as it is.
	Flags func() map[string]string
	// Runtime returns the server's side of /api/v1/status/runtimeinfo; the
	// API adds the process's and the Go runtime's fields.
	Runtime func() RuntimeStatus
	// WALReplay returns the WAL segments replayed at start.
	WALReplay func() WALReplayStatus
}

// RuntimeStatus is the server's state shown by /api/v1/status/runtimeinfo.
type RuntimeStatus struct {
	StartTime time.Time
	// ReloadConfigSuccess tells whether the last reload of the
	// configuration succeeded (the start counts as one); LastConfigTime is
	// when the configuration in force was loaded.
	ReloadConfigSuccess bool
	LastConfigTime      time.Time
	// CorruptionCount is the WAL corruptions met since the start.
	CorruptionCount int64
	// StorageRetention is how long data is kept, as text ("26h in memory,
	// blocks forever").
	StorageRetention string
}

// WALReplayStatus is the answer of /api/v1/status/walreplay, as
// Prometheus gives it: the first and the last WAL segment of the replay
// and the one being replayed (Current == Max once the replay is done).
// With no segment to replay all three are -1.
type WALReplayStatus struct {
	Min     int `json:"min"`
	Max     int `json:"max"`
	Current int `json:"current"`
}

// configStatus answers {"yaml": "..."}.
func (a *API) configStatus(*http.Request) (any, *apiError) {
	out := struct {
		YAML string `json:"yaml"`
	}{}
	if a.opts.Status.Config != nil {
		out.YAML = a.opts.Status.Config()
	}
	return out, nil
}

// flagsStatus answers {"<flag>": "<value>", ...}.
func (a *API) flagsStatus(*http.Request) (any, *apiError) {
	if a.opts.Status.Flags == nil {
		return map[string]string{}, nil
	}
	return a.opts.Status.Flags(), nil
}

// runtimeInfoJSON is /api/v1/status/runtimeinfo's data, with
// Prometheus's field names.
type runtimeInfoJSON struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

// runtimeInfo adds the process's and the Go runtime's state to the
// server's. GOGC and GODEBUG are the environment's settings, empty when
// unset (as Prometheus shows them).
func (a *API) runtimeInfo(*http.Request) (any, *apiError) {
	var st RuntimeStatus
	if a.opts.Status.Runtime != nil {
		st = a.opts.Status.Runtime()
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "<error: " + err.Error() + ">"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "<error: " + err.Error() + ">"
	}
	return runtimeInfoJSON{
		StartTime: st.StartTime, CWD: cwd, Hostname: host, ServerTime: a.opts.Now().UTC(),
		ReloadConfigSuccess: st.ReloadConfigSuccess, LastConfigTime: st.LastConfigTime,
		CorruptionCount: st.CorruptionCount, GoroutineCount: runtime.NumGoroutine(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GOMEMLIMIT: debug.SetMemoryLimit(-1),
		GOGC: os.Getenv("GOGC"), GODEBUG: os.Getenv("GODEBUG"), StorageRetention: st.StorageRetention,
	}, nil
}

// walReplay answers {"min":..,"max":..,"current":..}.
func (a *API) walReplay(*http.Request) (any, *apiError) {
	if a.opts.Status.WALReplay == nil {
		return WALReplayStatus{Min: -1, Max: -1, Current: -1}, nil
	}
	return a.opts.Status.WALReplay(), nil
}
