package esquery

func (p *aggParser[D]) composite(n *node[D], body any) error {
	return illegalArg("composite: not yet")
}

func (p *aggParser[D]) ranges(n *node[D], typ string, body any) error {
	return illegalArg("range: not yet")
}
