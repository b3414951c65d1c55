package camera

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/shouwang-iot/shouwang/internal/durable"
)

// evidenceStore keeps posted images in one directory under a quota. File
// names start with their incident's time, so name order is age order and
// the oldest go first when the quota is reached.
type evidenceStore struct {
	dir   string
	quota int64

	mu    sync.Mutex
	files []storedFile // oldest first
	total int64
}

type storedFile struct {
	name string
	size int64
}

func newEvidence(dir string, quota int64) *evidenceStore {
	return &evidenceStore{dir: dir, quota: quota}
}

// open creates the directory if need be and takes stock of what it holds
// from before a restart; a temporary file a power cut left is removed.
func (s *evidenceStore) open() error {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files, s.total = s.files[:0], 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") { // durable.Replace's temporary files
			os.Remove(filepath.Join(s.dir, e.Name()))
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			s.files = append(s.files, storedFile{e.Name(), info.Size()})
			s.total += info.Size()
		}
	}
	slices.SortFunc(s.files, func(a, b storedFile) int { return strings.Compare(a.name, b.name) })
	s.evict()
	return nil
}

// keep writes one image so that a power cut leaves it whole or absent,
// and makes room for it by removing the oldest.
func (s *evidenceStore) keep(name string, data []byte) error {
	if int64(len(data)) > s.quota {
		return fmt.Errorf("%s: %d bytes exceed the evidence quota (%d)", name, len(data), s.quota)
	}
	if err := durable.Replace(filepath.Join(s.dir, name), data, 0o640, nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = append(s.files, storedFile{name, int64(len(data))})
	s.total += int64(len(data))
	s.evict()
	return nil
}

// evict removes the oldest files until the total fits the quota; s.mu
// is held.
func (s *evidenceStore) evict() {
	for s.total > s.quota && len(s.files) > 0 {
		old := s.files[0]
		s.files = s.files[1:]
		s.total -= old.size
		os.Remove(filepath.Join(s.dir, old.name))
	}
}

func (s *evidenceStore) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// extension gives an image's file extension from its content type.
func extension(contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])) {
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ".jpg"
}
