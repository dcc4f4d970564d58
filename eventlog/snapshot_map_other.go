//go:build !linux

package eventlog

import (
	"errors"
	"os"
)

// mapFile is not available here: the copy is read into memory.
func mapFile(*os.File, int64) ([]byte, func(), error) { return nil, nil, errors.ErrUnsupported }
