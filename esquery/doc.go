// Package esquery evaluates the part of Elasticsearch's query DSL that the
// query API key API accepts (bool, term, terms, prefix, wildcard, range,
// match, exists, ids, match_all, simple_query_string), its sort and
// search_after, over documents that live in memory rather than in an index.
//
// It knows nothing of API keys: a Schema says which fields a query may name
// and how to read them from a document D, with one of three types as the
// security index maps them: keyword (exact strings; metadata is flattened
// to keywords, so numbers match as their text), date (Unix milliseconds)
// and boolean. Parse compiles a query to a predicate once; evaluating it
// allocates nothing for the common query types.
//
// ParseAggs compiles the aggregations the API accepts (terms, composite,
// range, date_range, missing, cardinality, value_count, filter, filters,
// nested) over the same fields; Run computes them over the documents a
// query matched, in Elasticsearch's answer shapes, in time linear in them
// (the limits in aggs.go bound the rest, and are checked when parsing).
//
// Errors are domain.Invalid errors whose reasons name the offending query
// type or field, as Elasticsearch's 400 answers do; those of aggregations
// carry Elasticsearch's error type too (domain.Error.Type).
package esquery
