package app

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// processMemory is how much memory this process may use, in bytes: the
// machine's, or its cgroup's limit when lower (the runtime knows neither).
// 0 when neither can be read (not Linux).
func processMemory() int64 {
	total := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		total, _ = parseMemTotal(string(b))
	}
	for _, f := range []string{
		"/sys/fs/cgroup/memory.max",                   // cgroup v2
		"/sys/fs/cgroup/memory/memory.limit_in_bytes", // cgroup v1
	} {
		if b, err := os.ReadFile(f); err == nil {
			if n, ok := parseCgroupLimit(string(b)); ok && (total == 0 || n < total) {
				total = n
			}
		}
	}
	return total
}

// parseMemTotal reads MemTotal (in kB) from /proc/meminfo.
func parseMemTotal(meminfo string) (int64, bool) {
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n * 1024, err == nil && n > 0
		}
	}
	return 0, false
}

// parseCgroupLimit reads a cgroup memory limit: bytes, or "max" (v2) for
// none. v1 says none with a huge number, which the caller's min absorbs.
func parseCgroupLimit(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n > 0
}
