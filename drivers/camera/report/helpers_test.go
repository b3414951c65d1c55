package report

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"math"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	firmwareconfigs "github.com/shouwang-iot/shouwang/firmware-configs"
)

// MustModel decodes a "camera:" section, strictly, and validates it.
func MustModel(tb testing.TB, src string) *Model {
	tb.Helper()
	var m Model
	if err := yaml.UnmarshalWithOptions([]byte(src), &m, yaml.DisallowUnknownField()); err != nil {
		tb.Fatalf("decode model: %v", err)
	}
	if err := m.Validate(); err != nil {
		tb.Fatalf("model does not validate: %v", err)
	}
	return &m
}

// MustProfileModel reads the camera: section of a shipped profile.
func MustProfileModel(tb testing.TB, file string) *Model {
	tb.Helper()
	src, err := fs.ReadFile(firmwareconfigs.FS, file)
	if err != nil {
		tb.Fatal(err)
	}
	// The profile's other keys belong to the gateway's loader; only
	// camera: is decoded strictly here.
	var p struct {
		Camera yaml.RawMessage `yaml:"camera"`
	}
	if err := yaml.Unmarshal(src, &p); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	if len(p.Camera) == 0 {
		tb.Fatalf("%s has no camera: section", file)
	}
	return MustModel(tb, string(p.Camera))
}

// MustRead reads a file under testdata.
func MustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustJPEG encodes a small picture.
func MustJPEG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 50}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// part is one part of a multipart body: its headers ("Content-Type",
// "Content-Disposition", ...) and body.
type part struct {
	header map[string]string
	body   []byte
}

// MustMultipart builds a multipart body of the given subtype ("form-data",
// "mixed") and returns its Content-Type and bytes.
func MustMultipart(tb testing.TB, subtype string, parts ...part) (string, []byte) {
	tb.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		for k, v := range p.header {
			h.Set(k, v)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			tb.Fatal(err)
		}
		pw.Write(p.body)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return "multipart/" + subtype + "; boundary=" + w.Boundary(), b.Bytes()
}

// xmlPart and imagePart are the parts a Hikvision camera posts.
func xmlPart(name string, body []byte) part {
	return part{map[string]string{
		"Content-Disposition": `form-data; name="` + name + `"`,
		"Content-Type":        `application/xml; charset="UTF-8"`,
	}, body}
}

func imagePart(name string, body []byte) part {
	return part{map[string]string{
		"Content-Disposition": `form-data; name="` + name + `"; filename="` + name + `.jpg"`,
		"Content-Type":        "image/jpeg",
	}, body}
}

// checkResult checks what Decode returned: a known error, and a Report
// that keeps its invariants whenever it is meant to be used.
func checkResult(t *testing.T, r Report, err error) {
	t.Helper()
	var e *Error
	switch {
	case err == nil:
	case errors.Is(err, ErrNotThrow):
		if len(r.Track) != 0 {
			t.Fatalf("ErrNotThrow with a track: %+v", r)
		}
		return
	case errors.As(err, &e):
		if e.Reason == "" || e.Detail == "" || strings.ContainsAny(e.Reason, " :") {
			t.Fatalf("error without a proper reason and detail: %#v", e)
		}
		if !e.Partial {
			if len(r.Track) != 0 || len(r.Images) != 0 || len(r.URLs) != 0 || r.Camera != "" || !r.Time.IsZero() {
				t.Fatalf("a failed decode returned a report: %+v (%v)", r, err)
			}
			return
		}
	default:
		t.Fatalf("error of an unknown kind: %T %v", err, err)
	}
	checkReport(t, r)
}

// checkReport checks a Report's invariants.
func checkReport(t *testing.T, r Report) {
	t.Helper()
	if len(r.Track) == 0 || len(r.Track) > maxSamples {
		t.Fatalf("track of %d samples", len(r.Track))
	}
	for i, s := range r.Track {
		for _, v := range []float64{s.X, s.Y, s.T} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("sample %d is not finite: %+v", i, s)
			}
		}
		switch {
		case i == 0 && s.T != 0:
			t.Fatalf("first sample at T=%g, not 0", s.T)
		case i > 0 && !(s.T > r.Track[i-1].T):
			t.Fatalf("sample %d at T=%g is not after %g", i, s.T, r.Track[i-1].T)
		case s.T > maxSpan, s.X < 0, s.Y < 0:
			t.Fatalf("sample %d out of range: %+v", i, s)
		}
	}
	if len(r.Images) > maxImages || len(r.URLs) > maxURLs {
		t.Fatalf("%d images and %d URLs", len(r.Images), len(r.URLs))
	}
	for _, img := range r.Images {
		if len(img.Data) == 0 || !strings.HasPrefix(img.ContentType, "image/") || img.Name == "" {
			t.Fatalf("image %q (%s) of %d bytes", img.Name, img.ContentType, len(img.Data))
		}
	}
}
