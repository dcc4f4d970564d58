package testproc

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/keyplane/keyplane/eventlog"
)

// PublishUndecodable appends to subject (kp.<tenant>.<aggregate>.<id>),
// past keyplane but as keyplane writes (an event id as Nats-Msg-Id, the
// subject's last sequence expected), an event of type and version whose
// metadata nests one level past encoding/json's limit, so that no reader
// can decode it; it returns its sequence. The tests of a replica that must
// fail closed on such an event, in the log from an older version or another
// writer, share it.
func PublishUndecodable(t testing.TB, url, subject, typ string, version int) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, eventlog.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) != 4 {
		t.Fatalf("subject %q is not kp.<tenant>.<aggregate>.<id>", subject)
	}
	id := uuid.NewString()
	envelope, _ := json.Marshal(map[string]any{"id": id, "type": typ, "v": version, "tenant": parts[1], "agg_type": parts[2],
		"agg_id": parts[3], "actor": map[string]any{"kind": "user", "id": "alice"}, "time": time.Now().UTC()})
	const depth = 10_001 // one past encoding/json's limit
	deep := strings.Repeat(`{"deep":`, depth) + `"secret"` + strings.Repeat("}", depth)
	m := nats.NewMsg(subject)
	m.Header.Set(jetstream.MsgIDHeader, id)
	if last, err := stream.GetLastMsgForSubject(ctx, subject); err == nil {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(last.Sequence, 10))
	}
	m.Data = append(envelope[:len(envelope)-1], `,"data":{"metadata":`+deep+`}}`...)
	ack, err := js.PublishMsg(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}
