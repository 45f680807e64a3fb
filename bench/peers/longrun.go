package main

import "time"

// longRunOptions are the settings of the long-run phase.
type longRunOptions struct {
	enabled        bool
	series         int
	span           time.Duration
	roundsPerBatch int
}
