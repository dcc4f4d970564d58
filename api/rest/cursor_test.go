package rest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/domain"
	"github.com/keyplane/keyplane/projections"
)

func TestAKeyListCursorLongerThanAnyThisAPIReturnsIsRefused(t *testing.T) {
	longest := encodeKeyCursor("name", projections.Position{S: strings.Repeat("<", 1024), ID: "k"})
	if _, _, err := listParamsOf(url.Values{"sort": {"name"}, "cursor": {longest}}); err != nil {
		t.Fatalf("a cursor of a 1 KiB sort value: %v", err)
	}
	huge := encodeKeyCursor("name", projections.Position{S: strings.Repeat("a", 500000), ID: "k"})
	_, _, err := listParamsOf(url.Values{"sort": {"name"}, "cursor": {huge}})
	if !domain.IsKind(err, domain.KindInvalid) || !strings.Contains(domain.ReasonOf(err), "cursor") {
		t.Fatalf("a cursor of %d bytes: %v, want refused before it is decoded", len(huge), err)
	}
}
