//go:build !linux

package contents

import (
	"os"
	"time"
)

// created is the file's modification time: the portable stand-in for
// jupyter_server's "created" (st_ctime).
func created(fi os.FileInfo) time.Time { return fi.ModTime().UTC() }
