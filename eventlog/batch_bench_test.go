package eventlog

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/keyplane/keyplane/domain"
)

func BenchmarkPublishBatch(b *testing.B) {
	l := openTest(b)
	for _, n := range []int{1, 8, 100} {
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
