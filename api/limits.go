package api

import "github.com/keyplane/keyplane/domain"

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
