package loadgen

import (
	"math"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"
)

// SeriesPerTarget is the number of series of one synthetic target: series
// i belongs to target i / SeriesPerTarget, whose instance label is
// Instance(i / SeriesPerTarget).
const SeriesPerTarget = 120

// Layout of one target's series; see the package comment.
const (
	seriesPerTarget = SeriesPerTarget
	numCounters     = 48 // two label variants of each counter name
	numGauges       = 30
	numConstants    = 18
	numFloats       = 12
	numBuckets      = 12

	firstGauge    = numCounters
	firstConstant = firstGauge + numGauges
	firstFloat    = firstConstant + numConstants
	firstBucket   = firstFloat + numFloats

	histogramName = "http_request_duration_seconds_bucket"
)

// seed makes the synthetic data differ from other users of the same hash.
const seed = 0x6c6f616467656e31

var counterNames = [numCounters / 2]string{
	"http_requests_total", "node_cpu_seconds_total", "node_network_receive_bytes_total",
	"node_network_transmit_bytes_total", "node_disk_read_bytes_total", "node_disk_written_bytes_total",
	"node_context_switches_total", "node_intr_total", "process_cpu_seconds_total",
	"go_gc_cycles_total", "go_memstats_alloc_bytes_total", "grpc_server_handled_total",
	"http_response_size_bytes_total", "rpc_client_errors_total", "kafka_messages_consumed_total",
	"db_queries_total", "cache_hits_total", "cache_misses_total", "log_lines_total",
	"node_vmstat_pgfault_total", "net_conntrack_dialer_conn_attempted_total",
	"prometheus_http_requests_total", "scrape_samples_scraped_total", "jobs_processed_total",
}

var gaugeNames = [numGauges]string{
	"temperature_celsius", "node_load1", "node_load5", "node_load15", "process_resident_memory_bytes",
	"node_filesystem_avail_gigabytes", "process_open_fds_ratio", "go_goroutines_avg", "queue_length_avg",
	"http_inflight_requests_avg", "cpu_usage_percent", "memory_usage_percent", "disk_usage_percent",
	"node_hwmon_temp_celsius", "fan_speed_rpm", "battery_voltage_volts", "power_watts",
	"request_rate_avg", "latency_avg_milliseconds", "connection_pool_usage_percent", "cache_size_megabytes",
	"replication_lag_seconds", "thread_pool_active_avg", "heap_usage_percent", "gc_pause_avg_milliseconds",
	"network_rtt_milliseconds", "queue_wait_avg_seconds", "humidity_percent", "pressure_hectopascals",
	"node_pressure_cpu_waiting_percent",
}

var constantNames = [numConstants]string{
	"process_max_fds", "node_cpu_count", "node_memory_MemTotal_bytes", "node_filesystem_size_bytes",
	"process_start_time_seconds", "build_info", "up", "node_network_mtu_bytes", "go_info",
	"config_last_reload_successful", "node_boot_time_seconds", "target_info", "node_network_speed_bytes",
	"kube_pod_container_resource_limits", "node_uname_info", "prometheus_tsdb_retention_limit_bytes",
	"cache_capacity_bytes", "thread_pool_max_threads",
}

var floatNames = [numFloats]string{
	"process_heap_fragmentation_ratio", "node_entropy_ratio", "go_memstats_heap_ratio",
	"scrape_duration_seconds", "node_scrape_collector_duration_seconds", "http_request_duration_seconds_avg",
	"db_query_duration_seconds_avg", "rpc_duration_seconds_ewma", "cpu_frequency_ratio",
	"load_forecast", "anomaly_score", "model_loss",
}

// bucketBounds are the histogram's le values; the last is +Inf.
var bucketBounds = [numBuckets]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}

var (
	jobs     = [...]string{"api", "node", "frontend", "worker", "database"}
	services = [...]string{
		"checkout", "cart", "payments", "search", "catalog", "auth", "users", "orders", "shipping", "inventory",
		"recommendations", "reviews", "email", "notifications", "billing", "gateway", "ads", "media", "reports", "admin",
	}
	regions  = [...]string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"}
	paths    = [...]string{"/api/v1/items", "/api/v1/users", "/api/v1/orders", "/healthz", "/metrics", "/login"}
	variants = [2][2]string{{"GET", "200"}, {"POST", "500"}}
)

// MetricNames lists every metric name of the synthetic series.
var MetricNames = func() []string {
	var n []string
	n = append(n, counterNames[:]...)
	n = append(n, gaugeNames[:]...)
	n = append(n, constantNames[:]...)
	n = append(n, floatNames[:]...)
	return append(n, histogramName)
}()

// ExampleQueries returns representative range queries over the synthetic
// series: a rate over many series, a sum by instance, a histogram quantile,
// an aggregation of gauges and one series by its full label set.
func ExampleQueries() []string {
	lbls := seriesLabels(0)
	return []string{
		`sum(rate(http_requests_total[5m]))`,
		`sum by (instance) (rate(node_network_receive_bytes_total[5m]))`,
		`histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`,
		`avg by (region) (temperature_celsius)`,
		`topk(5, max by (instance) (node_load1))`,
		lbls.String(),
	}
}

// SeriesLabels returns the labels of synthetic series i, sorted by name.
func SeriesLabels(i int) labels.Labels { return seriesLabels(i) }

// SeriesValue returns the value of synthetic series i in round r, as the
// load generator sends it.
func SeriesValue(i, r int) float64 { return seriesValue(i, r) }

// target returns the target of series i and its slot within the target.
func target(i int) (n, slot int) { return i / seriesPerTarget, i % seriesPerTarget }

// seriesLabels returns the labels of series i, sorted by name.
func seriesLabels(i int) labels.Labels {
	n, slot := target(i)
	region := regions[n%len(regions)]
	env := "production"
	if n%10 == 9 {
		env = "staging"
	}
	var name, method, status, le string
	method, status = "GET", "200"
	path := paths[(n+slot)%len(paths)]
	switch {
	case slot < firstGauge:
		name = counterNames[slot/2]
		method, status = variants[slot%2][0], variants[slot%2][1]
	case slot < firstConstant:
		name = gaugeNames[slot-firstGauge]
	case slot < firstFloat:
		name = constantNames[slot-firstConstant]
	case slot < firstBucket:
		name = floatNames[slot-firstFloat]
	default:
		name = histogramName
		le = strconv.FormatFloat(bucketBounds[slot-firstBucket], 'g', -1, 64)
		path = paths[n%len(paths)]
	}
	b := labels.NewScratchBuilder(10)
	b.Add(labels.MetricName, name)
	b.Add("env", env)
	b.Add("instance", Instance(n))
	b.Add("job", jobs[n%len(jobs)])
	if le != "" {
		b.Add("le", le)
	}
	b.Add("method", method)
	b.Add("path", path)
	b.Add("region", region)
	b.Add("service", services[n%len(services)])
	if le == "" {
		b.Add("status", status)
	}
	b.Add("zone", region+string(rune('a'+n%3)))
	return b.Labels()
}

// Instance returns the instance label of synthetic target n:
// "10.<n>>16&255>.<n>>8&255>.<n&255>:9100", distinct for n < 1<<24.
func Instance(n int) string {
	b := make([]byte, 0, 24)
	b = append(b, "10."...)
	b = strconv.AppendInt(b, int64(n>>16&255), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(n>>8&255), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(n&255), 10)
	b = append(b, ":9100"...)
	return string(b)
}

// mix is the splitmix64 finaliser: a cheap, well-spread hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func hash2(a, b uint64) uint64 { return mix(seed ^ mix(a+0x9e3779b97f4a7c15) ^ b*0xd6e8feb86659fd93) }

// seriesValue returns the value of series i in round r.
func seriesValue(i, r int) float64 {
	n, slot := target(i)
	h := mix(seed ^ uint64(i))
	switch {
	case slot < firstGauge:
		return float64(counter(h, uint64(i), r))
	case slot < firstConstant:
		// Two decimals around a per-series centre.
		centre := int64(h%10_000) * 10
		return float64(centre+int64(hash2(uint64(i), uint64(r))%2001)-1000) / 100
	case slot < firstFloat:
		return float64(h % 100_000)
	case slot < firstBucket:
		return float64(hash2(uint64(i), uint64(r))>>11) / (1 << 53) * float64(1+h%1000)
	default:
		return bucketValue(n, slot-firstBucket, r)
	}
}

// counter returns base + a*r + (hash(r) mod a): every increment lies in
// [1, 2a-1], so the counter grows by integers of varying size.
func counter(h, key uint64, r int) int64 {
	a := int64(1 + h>>20%uint64(pow10[h%uint64(len(pow10))]))
	base := int64(h>>40) % 1_000_000
	return base + a*int64(r) + int64(hash2(key, uint64(r))%uint64(a))
}

var pow10 = [...]int64{10, 100, 1000, 10_000, 100_000}

// bucketValue returns the cumulative count of bucket j of target n's
// histogram in round r: floor(N(r) * F(le)), with N(r) the target's
// observation counter and F a per-target latency distribution. N never
// decreases and F grows with le, so buckets are counters and cumulative.
func bucketValue(n, j, r int) float64 {
	key := uint64(n) | 1<<63
	h := mix(seed ^ key)
	total := counter(h, key, r)
	le := bucketBounds[j]
	if math.IsInf(le, 1) {
		return float64(total)
	}
	// Median latency between 20ms and 1s.
	m := 0.02 + float64(h>>32%1000)/1000*0.98
	f := le * le / (le*le + m*m)
	return math.Floor(float64(total) * f)
}
