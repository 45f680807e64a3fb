package promql

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

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
