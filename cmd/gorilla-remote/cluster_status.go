package main

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla-remote/gorilla-remote/ring"
)

// clusterStatus is the data of GET /api/v1/status/cluster.
type clusterStatus struct {
	Self              string          `json:"self"`
	ReplicationFactor int             `json:"replicationFactor"`
	Members           []clusterMember `json:"members"`
}

// clusterMember is one member of the ring as the status pages show it.
type clusterMember struct {
	Name      string  `json:"name"`
	Address   string  `json:"address"` // host:port of its HTTP API
	Zone      string  `json:"zone"`
	State     string  `json:"state"`
	Healthy   bool    `json:"healthy"`
	Tokens    int     `json:"tokens"`
	Ownership float64 `json:"ownership"` // share of the token space, in [0, 1]
	// LastHeartbeat is RFC 3339, in UTC; "" when none was seen.
	LastHeartbeat string `json:"lastHeartbeat"`
}

// handleCluster serves the cluster's status, as JSON under
// /api/v1/status/cluster and as an HTML page under /ring, and in cluster
// mode the internal endpoints under /internal/v1/.
func (srv *server) handleCluster(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/status/cluster", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Status string        `json:"status"`
			Data   clusterStatus `json:"data"`
		}{"success", srv.clusterStatus(time.Now())})
	})
	mux.HandleFunc("GET /ring", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := ringPage.Execute(w, srv.clusterStatus(time.Now())); err != nil {
			srv.log.Warn("render /ring", "err", err)
		}
	})
	if srv.cluster != nil {
		mux.HandleFunc(internalPrefix, srv.serveInternal)
	}
}

// clusterStatus returns the members of the ring as this node sees them.
// Without cluster mode the node is a cluster of one: itself, ACTIVE,
// owning everything, replication factor 1.
func (srv *server) clusterStatus(now time.Time) clusterStatus {
	r := srv.cluster.ring()
	if r == nil {
		name, err := srv.s.Cluster.nodeName()
		if err != nil {
			name = "localhost"
		}
		return clusterStatus{Self: name, ReplicationFactor: 1, Members: []clusterMember{{
			Name: name, Address: srv.s.ListenAddress, State: "ACTIVE", Healthy: true,
			Ownership: 1, LastHeartbeat: now.UTC().Format(time.RFC3339),
		}}}
	}
	ms := r.Members()
	out := clusterStatus{Self: r.Self().ID, ReplicationFactor: srv.cluster.rf(), Members: make([]clusterMember, 0, len(ms))}
	for _, m := range ms {
		out.Members = append(out.Members, memberOf(m))
	}
	return out
}

func memberOf(m ring.Member) clusterMember {
	hb := ""
	if !m.LastHeartbeat.IsZero() {
		hb = m.LastHeartbeat.UTC().Format(time.RFC3339)
	}
	return clusterMember{
		Name: m.ID, Address: m.Addr, Zone: m.Zone, State: m.State, Healthy: m.Healthy,
		Tokens: m.Tokens, Ownership: m.Ownership, LastHeartbeat: hb,
	}
}

// ringPage is the HTML of GET /ring: the members' table, self-contained.
var ringPage = template.Must(template.New("ring").Funcs(template.FuncMap{
	"percent": formatPercent,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>gorilla-remote ring</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: left; }
tr.unhealthy td { background: #fdd; }
</style>
</head>
<body>
<h1>Ring</h1>
<p>This node: <b>{{.Self}}</b>. Replication factor: {{.ReplicationFactor}}. Members: {{len .Members}}.</p>
<table>
<tr><th>Name</th><th>Address</th><th>Zone</th><th>State</th><th>Healthy</th><th>Tokens</th><th>Ownership</th><th>Last heartbeat</th></tr>
{{- range .Members}}
<tr{{if not .Healthy}} class="unhealthy"{{end}}><td>{{.Name}}{{if eq .Name $.Self}} (this node){{end}}</td><td>{{.Address}}</td><td>{{.Zone}}</td><td>{{.State}}</td><td>{{.Healthy}}</td><td>{{.Tokens}}</td><td>{{percent .Ownership}}</td><td>{{.LastHeartbeat}}</td></tr>
{{- end}}
</table>
</body>
</html>
`))

// formatPercent writes a share in [0, 1] as a percentage.
func formatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}
