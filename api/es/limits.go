package es

import (
	"net/http"
	"strings"

	"github.com/keyplane/keyplane/domain"
)

// within bounds a _has_privileges request before anything is evaluated:
// each list at most domain.MaxHasPrivilegesEntries long, index and
// application names at most 255 bytes, privileges and resources 1024 (the
// matchers are linear in both a pattern and a name, and every name is
// matched against every pattern of the caller's descriptors).
func (req *esHasPrivilegesRequest) within() error {
	if err := listWithin("cluster", req.Cluster, domain.MaxEntryBytes); err != nil {
		return err
	}
	if len(req.Index) > domain.MaxHasPrivilegesEntries {
		return tooMany("index", len(req.Index))
	}
	for _, ip := range req.Index {
		if len(ip.Names) == 0 || len(ip.Privileges) == 0 {
			// A null entry decodes as one of neither: Elasticsearch refuses it.
			return domain.Invalid("each [index] entry must have [names] and [privileges]")
		}
		if err := listWithin("index.names", ip.Names, domain.MaxIndexNameBytes); err != nil {
			return err
		}
		if err := listWithin("index.privileges", ip.Privileges, domain.MaxEntryBytes); err != nil {
			return err
		}
	}
	if len(req.Application) > domain.MaxHasPrivilegesEntries {
		return tooMany("application", len(req.Application))
	}
	checks := len(req.Cluster)
	for _, ip := range req.Index {
		checks += len(ip.Names) * len(ip.Privileges)
	}
	for _, ap := range req.Application {
		checks += len(ap.Resources) * len(ap.Privileges)
	}
	if checks > domain.MaxHasPrivilegesChecks {
		return domain.Invalid("the request asks %d privilege checks (cluster privileges, names times privileges, resources times privileges), over the limit of %d",
			checks, domain.MaxHasPrivilegesChecks)
	}
	for _, ap := range req.Application {
		if len(ap.Application) > domain.MaxAppNameBytes {
			return domain.Invalid("[application.application] is %d bytes, over the limit of %d", len(ap.Application), domain.MaxAppNameBytes)
		}
		if err := listWithin("application.privileges", ap.Privileges, domain.MaxEntryBytes); err != nil {
			return err
		}
		if err := listWithin("application.resources", ap.Resources, domain.MaxEntryBytes); err != nil {
			return err
		}
	}
	return nil
}

// filterPathWithin bounds ?filter_path before a request does any work: at
// most domain.MaxFilterPaths paths of domain.MaxFilterPathBytes each.
func filterPathWithin(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	fp := r.URL.Query().Get("filter_path")
	if fp == "" {
		return nil
	}
	paths := strings.Split(fp, ",")
	if len(paths) > domain.MaxFilterPaths {
		return domain.Invalid("[filter_path] lists %d paths, over the limit of %d", len(paths), domain.MaxFilterPaths)
	}
	for _, p := range paths {
		if len(p) > domain.MaxFilterPathBytes {
			return domain.Invalid("a path of [filter_path] is %d bytes, over the limit of %d", len(p), domain.MaxFilterPathBytes)
		}
	}
	return nil
}

func listWithin(field string, l []string, maxBytes int) error {
	if len(l) > domain.MaxHasPrivilegesEntries {
		return tooMany(field, len(l))
	}
	for _, s := range l {
		if len(s) > maxBytes {
			return domain.Invalid("an entry of [%s] is %d bytes, over the limit of %d", field, len(s), maxBytes)
		}
	}
	return nil
}

func tooMany(field string, n int) error {
	return domain.Invalid("[%s] lists %d entries, over the limit of %d", field, n, domain.MaxHasPrivilegesEntries)
}
