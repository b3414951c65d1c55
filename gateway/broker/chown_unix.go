//go:build unix

package broker

import (
	"errors"
	"os"
	"syscall"
)

// chownLike gives f the owner and group of the file at like. Only root
// may give a file away; anyone else already owns what they create, so a
// refusal is not an error.
func chownLike(f *os.File, like string) error {
	fi, err := os.Stat(like)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}
