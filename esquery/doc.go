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
// Errors are domain.Invalid errors whose reasons name the offending query
// type or field, as Elasticsearch's 400 answers do.
package esquery
