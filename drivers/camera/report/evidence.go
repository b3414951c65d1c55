package report

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// readCamera reads the camera's own id; a document without one says
// nothing, which is not an error.
func (m *Model) readCamera(doc document) (string, *Error) {
	if m.Camera == "" {
		return "", nil
	}
	v, ok := doc.value(m.Camera)
	if !ok {
		return "", nil
	}
	s, err := v.str()
	if err != nil {
		return "", fail(ReasonBadValue, "%s (the camera id) %v", m.Camera, err)
	}
	const maxID = 128
	if s = strings.TrimSpace(s); len(s) > maxID {
		return "", fail(ReasonBadValue, "%s (the camera id) is %d bytes long (at most %d)", m.Camera, len(s), maxID)
	}
	return strings.ToValidUTF8(s, "?"), nil
}

// readTime reads the event's timestamp; zero when the document has none.
func (m *Model) readTime(doc document) (time.Time, *Error) {
	if m.Time == "" {
		return time.Time{}, nil
	}
	v, ok := doc.value(m.Time)
	if !ok {
		return time.Time{}, nil
	}
	unit := m.TimeUnit
	if unit == "" {
		unit = stamp.Auto
	}
	t, err := v.time(unit)
	if err != nil {
		return time.Time{}, fail(ReasonBadTime, "%s %v", m.Time, err)
	}
	return t, nil
}

// readImages appends the document's base64 pictures to images (those of
// a multipart body's parts). An empty field is no picture.
func (m *Model) readImages(doc document, images []Image) ([]Image, *Error) {
	if len(images) > maxImages {
		return images[:maxImages], fail(ReasonTooLarge, "the event has %d pictures; the first %d were kept", len(images), maxImages)
	}
	for _, path := range m.Images {
		vs, _, err := doc.values(path, maxImages)
		if err != nil {
			return images, fail(ReasonTooLarge, "%s %v (at most %d pictures)", path, err, maxImages)
		}
		for i, v := range vs {
			name := path
			if len(vs) > 1 {
				name += "." + strconv.Itoa(i)
			}
			s, err := v.str()
			if err != nil || !v.isText {
				return images, fail(ReasonBadImage, "%s is not a base64 picture (it is %s)", name, kindOf(v))
			}
			if strings.TrimSpace(s) == "" {
				continue
			}
			img, err := base64Image(s)
			if err != nil {
				return images, fail(ReasonBadImage, "%s %v", name, err)
			}
			if len(images) == maxImages {
				return images, fail(ReasonTooLarge, "the event has more than %d pictures; the first %d were kept", maxImages, maxImages)
			}
			img.Name = name
			images = append(images, img)
		}
	}
	return images, nil
}

// base64Image decodes a base64 picture, with or without a data: URI
// prefix, and tells its type by its first bytes.
func base64Image(s string) (Image, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return Image{}, fmt.Errorf("is a data: URI but not a base64 one")
		}
		s = data
	}
	data, err := decodeBase64([]byte(s))
	if err != nil {
		return Image{}, fmt.Errorf("is not base64 (%v)", err)
	}
	ct := imageType(data)
	if ct == "" {
		return Image{}, fmt.Errorf("is base64 but not of a JPEG, PNG, GIF, BMP or WebP picture")
	}
	return Image{ContentType: ct, Data: data}, nil
}

// imageType knows a picture by its signature (net/http's sniffing), or
// returns "".
func imageType(b []byte) string {
	if ct := http.DetectContentType(b); strings.HasPrefix(ct, "image/") {
		return ct
	}
	return ""
}

// readURLs reads the evidence URLs: absolute http, https, rtsp or ftp
// URLs, a string or an array of strings at each path.
func (m *Model) readURLs(doc document) ([]string, *Error) {
	var out []string
	for _, path := range m.URLs {
		vs, _, err := doc.values(path, maxURLs)
		if err != nil {
			return out, fail(ReasonTooLarge, "%s %v (at most %d URLs)", path, err, maxURLs)
		}
		for i, v := range vs {
			name := path
			if len(vs) > 1 {
				name += "." + strconv.Itoa(i)
			}
			if !v.isText {
				return out, fail(ReasonBadURL, "%s is %s, not a URL", name, kindOf(v))
			}
			s := strings.TrimSpace(v.text)
			if s == "" {
				continue
			}
			if !utf8.ValidString(s) {
				return out, fail(ReasonBadURL, "%s is not valid UTF-8 text", name)
			}
			if len(s) > maxURLLen {
				return out, fail(ReasonBadURL, "%s is %d bytes long (at most %d)", name, len(s), maxURLLen)
			}
			u, err := url.Parse(s)
			if err != nil || u.Host == "" || !isEvidenceScheme(u.Scheme) {
				return out, fail(ReasonBadURL, "%s %q is not an absolute http, https, rtsp or ftp URL", name, clip(s))
			}
			if len(out) == maxURLs {
				return out, fail(ReasonTooLarge, "the event has more than %d URLs; the first %d were kept", maxURLs, maxURLs)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func isEvidenceScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "rtsp", "ftp":
		return true
	}
	return false
}

// kindOf names what a value is, for messages.
func kindOf(v value) string {
	switch {
	case v.isText:
		return "text"
	case v.isNum:
		return "a number"
	case v.isBool:
		return "a boolean"
	}
	return v.other
}
