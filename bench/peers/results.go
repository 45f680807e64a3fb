package main

import "time"

// Phase names.
const (
	phaseNew    = "new series"
	phaseSteady = "steady state"
	phaseReplay = "replay"
)

// report is everything one run measured; it is written as JSON.
type report struct {
	Started  time.Time     `json:"started"`
	Seconds  float64       `json:"seconds"`
	Machine  machineInfo   `json:"machine"`
	Settings settings      `json:"settings"`
	Scales   []scaleResult `json:"scales"`
	// LongRun is the long-run phase (--long-run), one entry per system.
	LongRun []longRunResult `json:"long_run,omitempty"`
	Targets []targetCheck   `json:"targets"`
}

// machineInfo describes where the run happened.
type machineInfo struct {
	CPUs      int               `json:"cpus"`
	MemBytes  int64             `json:"mem_bytes"`
	GoVersion string            `json:"go_version"`
	Kernel    string            `json:"kernel"`
	Versions  map[string]string `json:"versions"`
}

// settings are the load parameters the run used.
type settings struct {
	Interval          string `json:"interval"`
	SamplesPerRequest int    `json:"samples_per_request"`
	Senders           int    `json:"senders"`
	QueryStep         string `json:"query_step"`
	QueryRepeats      int    `json:"query_repeats"`
	SpotChecks        int    `json:"spot_checks"`
}

// scaleResult is one load (a number of active series, or the captured
// traffic) run against every system.
type scaleResult struct {
	Name    string         `json:"name"`
	Series  int            `json:"series"`
	Rounds  int            `json:"rounds"`
	Samples int64          `json:"samples"`
	Systems []systemResult `json:"systems"`
	// Ratios maps a peer and a figure key to gorilla-remote's figure divided
	// by the peer's.
	Ratios map[string]map[string]float64 `json:"ratios"`
}

// systemResult is what one system did under one load.
type systemResult struct {
	System             string         `json:"system"`
	Phases             []phaseResult  `json:"phases"`
	PeakRSSBytes       int64          `json:"peak_rss_bytes"`
	RSSBytes           int64          `json:"rss_bytes"`
	RSSPerSeries       float64        `json:"rss_bytes_per_series"`
	Disk               diskResult     `json:"disk"`
	DiskBytesPerSample float64        `json:"disk_bytes_per_sample"`
	WALBytesPerSample  float64        `json:"wal_bytes_per_sample,omitempty"`
	Queries            []queryResult  `json:"queries,omitempty"`
	Restart            *restartResult `json:"restart,omitempty"`
	Check              *checkResult   `json:"check,omitempty"`
	Errors             []string       `json:"errors,omitempty"`
}

// phase returns the phase named name, or nil.
func (r *systemResult) phase(name string) *phaseResult {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// phaseResult is one stretch of ingestion.
type phaseResult struct {
	Name          string   `json:"name"`
	FromRound     int      `json:"from_round"`
	ToRound       int      `json:"to_round"`
	Requests      int64    `json:"requests"`
	Failed        int64    `json:"failed"`
	Samples       int64    `json:"samples"`
	Seconds       float64  `json:"seconds"`
	SamplesPerSec float64  `json:"samples_per_second"`
	P50Ms         float64  `json:"p50_ms"`
	P99Ms         float64  `json:"p99_ms"`
	MaxMs         float64  `json:"max_ms"`
	CPUSeconds    float64  `json:"cpu_seconds"`
	CPUPerMSample float64  `json:"cpu_seconds_per_million_samples"`
	Errors        []string `json:"errors,omitempty"`
}

// queryResult is the timing of one range query.
type queryResult struct {
	Query    string  `json:"query"`
	MedianMs float64 `json:"median_ms"`
	Runs     int     `json:"runs"`
	Failures int     `json:"failures"`
	Series   int     `json:"series"`
	Error    string  `json:"error,omitempty"`
}

// restartResult is the time from starting a server on the data left by a
// kill -9 until it is ready, and until a query returns the data.
type restartResult struct {
	ReadySeconds float64 `json:"ready_seconds"`
	DataSeconds  float64 `json:"data_seconds,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// checkResult is the correctness pass: what was read back against what was
// written.
type checkResult struct {
	Pass       bool `json:"pass"`
	SeriesWant int  `json:"series_want"`
	SeriesGot  int  `json:"series_got"`
	Checked    int  `json:"checked"`
	Mismatches int  `json:"mismatches"`
	// Rounded counts values that came back rounded, not exact.
	Rounded  int      `json:"rounded"`
	Examples []string `json:"examples,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// targetCheck is one target evaluated on one load.
type targetCheck struct {
	Scale  string  `json:"scale"`
	Figure string  `json:"figure"`
	Peer   string  `json:"peer"`
	Ratio  float64 `json:"ratio"`
	Op     string  `json:"op"`
	Bound  float64 `json:"bound"`
	Held   bool    `json:"held"`
	Text   string  `json:"text"`
}
