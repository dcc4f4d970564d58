// Command benchsum reads `go test -bench` output and prints, for every
// benchmark and unit, the median over repeated runs, then the ratios the
// issues ask for (each against a baseline measured in the same run).
// scripts/bench runs it; it is not part of keyplane.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// procSuffix is GOMAXPROCS and, for a sub-benchmark run again under the
// same name (alternating rounds), its "#NN".
var procSuffix = regexp.MustCompile(`(#\d+)?-\d+$`)

// ratios: name, numerator, denominator, goal. A ratio is printed when both
// figures were measured.
var ratios = []struct{ label, num, den, goal string }{
	{"HTTP ApiKey auth / no-op handler (throughput)", "BenchmarkHTTPAuth/noop ns/op", "BenchmarkHTTPAuth/apikey ns/op", ">= 0.8"},
	{"ES _authenticate / no-op handler (throughput)", "BenchmarkESAuthenticate/noop ns/op", "BenchmarkESAuthenticate/authenticate ns/op", ">= 0.8"},
	{"create-key / raw sync publish, 1 client", "BenchmarkCreate/create/clients-1 ops/s", "BenchmarkCreate/raw-publish/clients-1 ops/s", ">= 0.7"},
	{"create-key / raw sync publish, 8 clients", "BenchmarkCreate/create/clients-8 ops/s", "BenchmarkCreate/raw-publish/clients-8 ops/s", ""},
	{"create-key / raw sync publish, 50 clients", "BenchmarkCreate/create/clients-50 ops/s", "BenchmarkCreate/raw-publish/clients-50 ops/s", ""},
	{"replay / raw ordered-consumer read (throughput)", "BenchmarkReplay replay-events/s", "BenchmarkReplay raw-events/s", ">= 0.8"},
	{"cold start at 1M keys, from snapshot / full replay", "BenchmarkColdStart/from-snapshot median-ms", "BenchmarkColdStart/full-replay median-ms", "< 2 s from snapshot"},
	{"R3 cluster (2 replicas) / embedded: creates/s", "BenchmarkCluster/r3/create creates/s", "BenchmarkCluster/embedded/create creates/s", ""},
	{"R3 cluster (2 replicas) / embedded: auths/s", "BenchmarkCluster/r3/auth auths/s", "BenchmarkCluster/embedded/auth auths/s", ""},
	{"expiry scan, 1M keys / 10k keys (1,000 due in both)", "BenchmarkScan/keys=1000000/due=1000 ns/op", "BenchmarkScan/keys=10000/due=1000 ns/op", "~1"},
}

func main() {
	vals := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			k := name + " " + f[i+1]
			if _, seen := vals[k]; !seen {
				order = append(order, k)
			}
			vals[k] = append(vals[k], v)
		}
	}
	med := map[string]float64{}
	for _, k := range order {
		v := vals[k]
		sort.Float64s(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		med[k] = m
		fmt.Printf("%-72s %14.2f   (n=%d)\n", k, m, len(v))
	}
	fmt.Println()
	for _, r := range ratios {
		n, ok1 := med[r.num]
		d, ok2 := med[r.den]
		if ok1 && ok2 && d != 0 {
			goal := ""
			if r.goal != "" {
				goal = " (goal " + r.goal + ")"
			}
			fmt.Printf("ratio %-52s %6.2f%s\n", r.label, n/d, goal)
		}
	}
}
