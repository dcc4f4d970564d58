package httpx

import "github.com/keyplane/keyplane/domain"

// ShownKeyFields are the fields the console's and Elasticsearch's key views
// show alike: times in Unix milliseconds (nil when unset, the invalidation
// only of an invalidated key), and metadata and role descriptors empty
// rather than null.
func ShownKeyFields(k *domain.Key) (expiration, invalidation *int64, metadata map[string]any, roles domain.RoleDescriptors) {
	expiration = millisOrNil(k.Expires)
	if k.Invalidated {
		invalidation = millisOrNil(k.InvalidatedAt)
	}
	metadata, roles = k.Metadata, k.RoleDescriptors
	if metadata == nil {
		metadata = map[string]any{}
	}
	if roles == nil {
		roles = domain.RoleDescriptors{}
	}
	return expiration, invalidation, metadata, roles
}

// MaxBulk bounds ids in one bulk request.
const MaxBulk = 1000
