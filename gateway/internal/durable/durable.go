// Package durable writes files so that what was written survives a power
// cut: the data is fsynced, and so is the directory of a file it creates.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Append appends data to the file at path, creating it (mode 0o600) and
// its directory (0o700) if need be, and returns once data is on disk.
// The quarantine and dead-letter files are written this way: one line per
// call, rarely, and each must not be lost.
func Append(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, err := os.Lstat(path)
	created := errors.Is(err, fs.ErrNotExist)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = SyncDir(dir)
	}
	return err
}

// SyncDir fsyncs a directory, so that the names of files created or
// removed in it survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
