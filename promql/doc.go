// Package promql serves the Prometheus HTTP query API over gorilla-remote's
// storage, evaluating PromQL with the upstream engine
// (github.com/prometheus/prometheus/promql).
//
// Usage:
//
//	eng, err := promql.NewEngine(promql.EngineOptions{Timeout: 2 * time.Minute, Registerer: reg})
//	defer eng.Close() // unregisters its metrics
//	api, err := promql.NewAPI(promql.APIOptions{Engine: eng, Queryable: query.New(h), Head: h})
//	mux.Handle("/api/v1/", api)
//
// Every endpoint accepts GET and POST with a form body, and answers with the
// Prometheus JSON envelope:
//
//	{"status":"success","data":...,"warnings":[...],"infos":[...]}
//	{"status":"error","errorType":"bad_data","error":"..."}
//
// Error types map to status codes as in Prometheus: bad_data 400,
// execution 422, canceled 499, internal 500, timeout 503. docs/query-api.md
// lists the endpoints and their parameters.
package promql
