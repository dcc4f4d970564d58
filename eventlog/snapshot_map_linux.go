//go:build linux

package eventlog

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of f read-only, shared: a start reads a
// snapshot copy of 200+ MB from the page cache in place, instead of
// copying it into as much fresh memory (a page fault every 4 KiB). What
// it returns drops the pages from the process (MADV_DONTNEED) without
// unmapping them: a restore copies what it keeps, but should a decoder
// ever keep a slice of the bytes, they read the file again rather than
// fault. The file is never truncated in place (writeLocal renames a new
// one over it), so the mapping stays valid.
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	if size == 0 || int64(int(size)) != size {
		return nil, nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }, nil
}
