package eventlog

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
)

// BenchmarkPublishBatch is what one commit costs by its size, fsync always:
// a single event is a plain publish; from two events on, an atomic batch,
// which a single node with file storage stages in a fresh file store before
// committing it (a fixed cost of a few milliseconds on this machine's disk,
// whatever the size). Group commit's ceiling follows: a batch holds at most
// one command per waiting client.
func BenchmarkPublishBatch(b *testing.B) {
	l := openTest(b)
	for _, n := range []int{1, 2, 8, 32, 100, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			k := 0
			for i := 0; i < b.N; i++ {
				apps := make([]Append, n)
				for j := range apps {
					k++
					apps[j] = Append{Event: keyEvent(uuid.NewString(), fmt.Sprint("k", n, "-", k, "-", uuid.NewString()[:8]), domain.KeyInvalidated{}), Expect: 0}
				}
				if n == 1 {
					if _, err := l.appendOne(b.Context(), apps[0]); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := l.publishBatch(apps); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkPublishBatchParallel(b *testing.B) {
	l := openTest(b)
	for _, n := range []int{8, 32} {
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprint(n, "x", par), func(b *testing.B) {
				b.SetParallelism(par)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						apps := make([]Append, n)
						for j := range apps {
							apps[j] = Append{Event: keyEvent(uuid.NewString(), uuid.NewString(), domain.KeyInvalidated{}), Expect: 0}
						}
						if _, err := l.publishBatch(apps); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
