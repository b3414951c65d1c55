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

// Replace puts data at path in one step that survives a power cut: it
// writes a temp file beside path (mode perm), fsyncs it, renames it over
// path and fsyncs the directory, so a reader sees the old file or the new
// one, never a part. prepare, if set, is called on the temp file before
// the write (to give it an owner). A failed Replace leaves no temp file.
func Replace(path string, data []byte, perm os.FileMode, prepare func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if prepare != nil {
		if err = prepare(tmp); err != nil {
			return err
		}
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}
