package es

import (
	"net/http"

	"github.com/keyplane/keyplane/domain"
)

// esVersion is the Elasticsearch version keyplane answers as: clients
// check the product header, and some read the major version.
const esVersion = "9.0.0"

// esRoot answers GET / as Elasticsearch does, so that clients and tools
// that probe the cluster accept keyplane.
func (s *Server) esRoot(x *esReq) error {
	if err := esParams(x.r); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionMonitorMain, false); err != nil {
		return err
	}
	return x.write(http.StatusOK, map[string]any{
		"name":         "keyplane",
		"cluster_name": x.pr.Name,
		"cluster_uuid": x.pr.ID,
		"version": map[string]any{
			"number": esVersion, "build_flavor": "default", "build_type": "keyplane", "build_hash": "keyplane",
			"build_date": "2026-01-01T00:00:00.000Z", "build_snapshot": false, "lucene_version": "10.1.0",
			"minimum_wire_compatibility_version": "8.18.0", "minimum_index_compatibility_version": "8.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

// esHealth answers the cluster health API: a project of keyplane is one
// healthy node with no shards. wait_for_* parameters are met at once.
func (s *Server) esHealth(x *esReq) error {
	if err := esParams(x.r, "expand_wildcards", "level", "local", "master_timeout", "timeout", "wait_for_active_shards",
		"wait_for_nodes", "wait_for_events", "wait_for_no_relocating_shards", "wait_for_no_initializing_shards", "wait_for_status"); err != nil {
		return err
	}
	if err := x.authorize(domain.ActionHealth, false); err != nil {
		return err
	}
	switch st := x.r.URL.Query().Get("wait_for_status"); st {
	case "", "green", "yellow", "red":
	default:
		return domain.Invalid("unknown cluster health status [%s]", st)
	}
	return x.write(http.StatusOK, map[string]any{
		"cluster_name": x.pr.Name, "status": "green", "timed_out": false,
		"number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 0, "active_shards": 0,
		"relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0, "unassigned_primary_shards": 0,
		"delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
		"task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0,
	})
}
