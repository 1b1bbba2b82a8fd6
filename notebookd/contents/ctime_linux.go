//go:build linux

package contents

import (
	"os"
	"syscall"
	"time"
)

// created is the file's status change time, jupyter_server's "created"
// (st_ctime), or its modification time where that is not known.
func created(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UTC()
	}
	return fi.ModTime().UTC()
}
