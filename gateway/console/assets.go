package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// web/dist is what `make console` builds from web/ with npm; a binary
// built without it serves a page that says so.
//
//go:embed all:web/dist
var dist embed.FS

// asset is one file of the console, with its gzip form when the build
// made one.
type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset // by path without the leading slash
)

func loadAssets() map[string]*asset {
	assetsOnce.Do(func() {
		assets = map[string]*asset{}
		sub, _ := fs.Sub(dist, "web/dist")
		fs.WalkDir(sub, ".", func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || strings.HasPrefix(path.Base(p), ".") || strings.HasSuffix(p, ".gz") {
				return nil
			}
			body, err := fs.ReadFile(sub, p)
			if err != nil {
				return nil
			}
			sum := sha256.Sum256(body)
			a := &asset{body: body, ctype: mime.TypeByExtension(path.Ext(p)), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			if a.ctype == "" {
				a.ctype = http.DetectContentType(body)
			}
			if gz, err := fs.ReadFile(sub, p+".gz"); err == nil {
				a.gz = gz
			}
			assets[p] = a
			return nil
		})
	})
	return assets
}

// Built says whether the binary holds the console's pages.
func Built() bool { return loadAssets()["index.html"] != nil }

const notBuilt = `<!doctype html><meta charset="utf-8"><title>Shouwang</title>
<p>The console's pages are not in this binary: build it with <code>make build</code>
(which runs <code>make console</code>), or use the API under <a href="/api/v1/">/api/v1/</a>.`

// pages serves the console: index.html at "/", the bundle beside it,
// gzipped when the browser takes it (an old duty-room PC on a slow LAN).
func pages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		a := loadAssets()[p]
		if a == nil {
			if p == "index.html" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(notBuilt))
				return
			}
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache") // revalidated by ETag: a new gateway version shows at once
		h.Set("X-Content-Type-Options", "nosniff")
		if p == "index.html" {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: http: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
			h.Set("X-Frame-Options", "DENY")
		}
		body, etag := a.body, a.etag
		if a.gz != nil {
			h.Add("Vary", "Accept-Encoding")
			if acceptsGzip(r) {
				h.Set("Content-Encoding", "gzip")
				body, etag = a.gz, strings.TrimSuffix(etag, `"`)+`-gz"`
			}
		}
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}
