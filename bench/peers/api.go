package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// apiClient speaks the small part of the Prometheus HTTP API the benchmark
// needs; all three systems serve it.
type apiClient struct {
	hc *http.Client
}

// maxErrorBody is how much of an error answer is kept for the report.
const maxErrorBody = 512

func (c *apiClient) do(req *http.Request, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

func (c *apiClient) get(ctx context.Context, u string) error {
	return c.getJSON(ctx, u, nil)
}

func (c *apiClient) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

func (c *apiClient) postJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// statusCode is the HTTP status of a GET, or 0 if there was no answer.
func (c *apiClient) statusCode(ctx context.Context, u string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// apiSeries is one series of a query answer: Value for a vector, Values for
// a matrix.
type apiSeries struct {
	Metric map[string]string `json:"metric"`
	Value  *apiSample        `json:"value"`
	Values []apiSample       `json:"values"`
}

// apiSample is a [seconds, "value"] pair.
type apiSample struct {
	T int64 // milliseconds
	V float64
}

func (s *apiSample) UnmarshalJSON(b []byte) error {
	var raw [2]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	sec, ok1 := raw[0].(float64)
	val, ok2 := raw[1].(string)
	if !ok1 || !ok2 {
		return fmt.Errorf("sample %s: want [seconds, \"value\"]", b)
	}
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return fmt.Errorf("sample value %q: %w", val, err)
	}
	s.T, s.V = int64(math.Round(sec*1000)), v
	return nil
}

// apiResponse is the envelope of every query API answer.
type apiResponse struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		ResultType string      `json:"resultType"`
		Result     []apiSeries `json:"result"`
	} `json:"data"`
}

var errNotSuccess = errors.New("status is not success")

// query runs path (/api/v1/query or /api/v1/query_range) with params.
func (c *apiClient) query(ctx context.Context, s *server, path string, params url.Values) ([]apiSeries, error) {
	var r apiResponse
	if err := c.getJSON(ctx, s.url(path)+"?"+params.Encode(), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%w: %q %s", errNotSuccess, r.Status, r.Error)
	}
	return r.Data.Result, nil
}

func (c *apiClient) instant(ctx context.Context, s *server, q string, at int64) ([]apiSeries, error) {
	return c.query(ctx, s, "/api/v1/query", url.Values{
		"query": {q}, "time": {formatAPITime(at)},
	})
}

func (c *apiClient) rangeQuery(ctx context.Context, s *server, q string, start, end int64, step time.Duration) ([]apiSeries, error) {
	return c.query(ctx, s, "/api/v1/query_range", url.Values{
		"query": {q}, "start": {formatAPITime(start)}, "end": {formatAPITime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
}

// formatAPITime writes milliseconds since the epoch as the API's seconds.
func formatAPITime(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}
