package esquery

// missing, cardinality and value_count: one field, one number or bucket.

type missingAgg[D any] struct{ f Field[D] }

func (p *aggParser[D]) missing(n *node[D], body any) error {
	m, err := params(n.name, "missing", body, "field", "value_type", "format")
	if err != nil {
		return err
	}
	f, _, err := p.aggField(m)
	if err != nil {
		return err
	}
	n.typ, n.impl, n.fanout, n.perDoc, n.evals = "missing", missingAgg[D]{f}, 1, 1, 1
	return nil
}

func (a missingAgg[D]) eval(n *node[D], docs []D, typed bool) (map[string]any, error) {
	r := newReader(a.f)
	return singleBucket(n, docs, typed, func(d D) bool { return len(r.values(d)) == 0 })
}

// metricAgg is cardinality (distinct values) or value_count (values, each
// document's distinct ones, as doc values hold them).
type metricAgg[D any] struct {
	f        Field[D]
	distinct bool
	missing  []aval // the value of documents without one, if given
}

func (p *aggParser[D]) metric(n *node[D], typ string, body any) error {
	allowed := []string{"field", "missing", "value_type", "format"}
	if typ == "cardinality" {
		allowed = append(allowed, "precision_threshold", "rehash", "execution_hint")
	}
	m, err := params(n.name, typ, body, allowed...)
	if err != nil {
		return err
	}
	f, name, err := p.aggField(m)
	if err != nil {
		return err
	}
	a := metricAgg[D]{f: f, distinct: typ == "cardinality"}
	if v, ok := m["missing"]; ok {
		mv, err := p.parseValue(f, name, v)
		if err != nil {
			return err
		}
		a.missing = []aval{mv}
	}
	n.typ, n.impl, n.evals = typ, a, 1
	return nil
}

func (a metricAgg[D]) eval(_ *node[D], docs []D, _ bool) (map[string]any, error) {
	r := newReader(a.f)
	count := 0
	var seen map[aval]struct{}
	if a.distinct {
		seen = map[aval]struct{}{}
	}
	for _, d := range docs {
		vals := r.values(d)
		if len(vals) == 0 {
			vals = a.missing
		}
		if !a.distinct {
			count += len(vals)
			continue
		}
		for _, v := range vals {
			seen[v] = struct{}{}
		}
	}
	if a.distinct {
		count = len(seen)
	}
	return map[string]any{"value": count}, nil
}
