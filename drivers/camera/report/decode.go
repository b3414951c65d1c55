package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// ErrNotThrow is returned, wrapped with what the document was, for a
// document that the model's match says is no throw: a heartbeat or
// another alarm the camera pushes to the same host. It is not an error of
// the camera's: the driver counts it and answers 200.
var ErrNotThrow = errors.New("not a throw event")

// Why a body could not be read (Error.Reason): short labels for a metric
// and the first word of a 400 answer.
const (
	ReasonUnsupported  = "unsupported_type" // a Content-Type that is not JSON, XML or multipart, or not the model's format
	ReasonMalformed    = "malformed"        // not valid JSON, XML or multipart
	ReasonNoDocument   = "no_document"      // a multipart body without a JSON or XML part
	ReasonTooManyParts = "too_many_parts"   // more than maxParts parts
	ReasonTooDeep      = "too_deep"         // nesting past maxDepth
	ReasonTooLarge     = "too_large"        // more elements, samples, images or URLs than allowed
	ReasonNoTrack      = "no_track"         // no track, or an empty one
	ReasonBadTrack     = "bad_track"        // a sample that does not read: not a number, a box inside out, time going backwards
	ReasonBadTime      = "bad_time"         // the event's timestamp does not read
	ReasonBadValue     = "bad_value"        // the camera id is not a value
	ReasonBadImage     = "bad_image"        // an image that is not base64 of a picture
	ReasonBadURL       = "bad_url"          // a URL that is not an absolute http(s), rtsp or ftp URL
)

// Bounds on what one event may carry.
const (
	maxParts   = 16
	maxSamples = 1024
	maxImages  = 16
	maxURLs    = 16
	maxURLLen  = 2048
)

// Error is why a body could not be read as a throw event.
type Error struct {
	// Reason is one of the Reason* labels.
	Reason string
	// Detail says what is wrong and where, for the camera's installer.
	Detail string
	// Partial is set when the track read and only something beside it
	// (time, camera id, images, URLs) did not: the Report returned with
	// the error holds all that read, and a throw is still a throw.
	Partial bool
}

func (e *Error) Error() string { return e.Reason + ": " + e.Detail }

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Decode reads one event. contentType is the HTTP Content-Type
// (application/json, application/xml, text/xml, or multipart/form-data or
// multipart/mixed with a boundary); "" sniffs the body (an MQTT payload):
// JSON starts with '{', XML with '<'. In a multipart body the document is
// the first part of the model's format (by its type, or by its content
// when it is typed text/plain, octet-stream or not at all), and every
// image/* part is an Image named by its file name or form field.
//
// The error is ErrNotThrow (wrapped) for a document the model's match
// rejects, or an *Error. With an *Error whose Partial is set, the Report
// holds everything that did read, a good track included; otherwise it is
// empty. m must have passed Validate.
func (m *Model) Decode(contentType string, body []byte) (Report, error) {
	mediaType, params := "", map[string]string(nil)
	if strings.TrimSpace(contentType) != "" {
		var err error
		if mediaType, params, err = mime.ParseMediaType(contentType); err != nil {
			return Report{}, fail(ReasonUnsupported, "Content-Type %q does not parse: %v", clip(contentType), err)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		return m.decodeMultipart(mediaType, params["boundary"], body)
	}
	format := formatOf(mediaType, body)
	if format == "" {
		return Report{}, fail(ReasonUnsupported, "Content-Type %q is not an event document (valid: application/json, application/xml, text/xml, multipart/form-data, multipart/mixed)", clip(contentType))
	}
	return m.decodeDocument(format, body, nil)
}

// formatOf is the format a body of mediaType is in: by its type, or by
// its first byte when the type says nothing ("", text/plain,
// application/octet-stream). "" for neither JSON nor XML.
func formatOf(mediaType string, body []byte) string {
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return FormatJSON
	case mediaType == "application/xml" || mediaType == "text/xml" || strings.HasSuffix(mediaType, "+xml"):
		return FormatXML
	case mediaType == "" || mediaType == "text/plain" || mediaType == "application/octet-stream":
		switch firstNonSpace(body) {
		case '{', '[':
			return FormatJSON
		case '<':
			return FormatXML
		}
	}
	return ""
}

// decodeDocument reads one document of format, with images already taken
// from a multipart body's parts.
func (m *Model) decodeDocument(format string, body []byte, images []Image) (Report, error) {
	if format != m.Format {
		return Report{}, fail(ReasonUnsupported, "the document is %s but the model reads %s (is the camera's push format set to %s?)",
			strings.ToUpper(format), strings.ToUpper(m.Format), strings.ToUpper(m.Format))
	}
	var doc document
	var perr *Error
	if format == FormatJSON {
		doc, perr = parseJSON(body)
	} else {
		doc, perr = parseXML(body)
	}
	if perr != nil {
		return Report{}, perr
	}
	if err := m.match(doc); err != nil {
		return Report{}, err
	}
	var r Report
	var err *Error
	if r.Track, err = m.readTrack(doc); err != nil {
		return Report{}, err
	}
	r.Images = images
	// What follows is beside the track: the first problem is returned
	// with the rest still read.
	var first *Error
	note := func(e *Error) {
		if e != nil && first == nil {
			e.Partial = true
			first = e
		}
	}
	r.Camera, err = m.readCamera(doc)
	note(err)
	r.Time, err = m.readTime(doc)
	note(err)
	r.Images, err = m.readImages(doc, r.Images)
	note(err)
	r.URLs, err = m.readURLs(doc)
	note(err)
	if first != nil {
		return r, first
	}
	return r, nil
}

// match checks the model's conditions.
func (m *Model) match(doc document) error {
	for _, c := range m.Match {
		v, ok := doc.value(c.Field)
		if !ok {
			return fmt.Errorf("%w: it has no %s", ErrNotThrow, c.Field)
		}
		s, err := v.str()
		if err != nil {
			return fmt.Errorf("%w: its %s %v", ErrNotThrow, c.Field, err)
		}
		s = strings.TrimSpace(s)
		if !containsFold(c.Values, s) {
			return fmt.Errorf("%w: its %s is %q (a throw: %s)", ErrNotThrow, c.Field, clip(s), strings.Join(c.Values, ", "))
		}
	}
	return nil
}

func containsFold(values []string, s string) bool {
	for _, v := range values {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}

// decodeMultipart finds the document among a multipart body's parts and
// takes its image parts.
func (m *Model) decodeMultipart(mediaType, boundary string, body []byte) (Report, error) {
	if boundary == "" {
		return Report{}, fail(ReasonMalformed, "Content-Type %s has no boundary parameter", mediaType)
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var doc []byte
	var docFormat, docPart, other string
	var images []Image
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fail(ReasonMalformed, "the multipart body breaks at part %d: %v", i+1, err)
		}
		if i == maxParts {
			return Report{}, fail(ReasonTooManyParts, "the multipart body has more than %d parts", maxParts)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return Report{}, fail(ReasonMalformed, "the multipart body breaks in part %d: %v", i+1, err)
		}
		name := partName(p, i)
		if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			if data, err = decodeBase64(data); err != nil {
				return Report{}, fail(ReasonMalformed, "part %q says it is base64 but is not: %v", name, err)
			}
		}
		partType := "text/plain" // what a part without a Content-Type is (RFC 2046, RFC 7578)
		if ct := p.Header.Get("Content-Type"); ct != "" {
			if partType, _, err = mime.ParseMediaType(ct); err != nil {
				return Report{}, fail(ReasonMalformed, "part %q has a Content-Type %q that does not parse: %v", name, clip(ct), err)
			}
		}
		switch f := formatOf(partType, data); {
		case strings.HasPrefix(partType, "image/"):
			if len(data) > 0 {
				images = append(images, Image{Name: name, ContentType: partType, Data: data})
			}
		case f == m.Format && doc == nil:
			doc, docFormat, docPart = data, f, name
		case f != "" && other == "":
			other = fmt.Sprintf("part %q is %s", name, strings.ToUpper(f))
		}
	}
	if doc == nil {
		if other != "" {
			return Report{}, fail(ReasonUnsupported, "the multipart body has no %s document (%s; is the camera's push format set to %s?)",
				strings.ToUpper(m.Format), other, strings.ToUpper(m.Format))
		}
		return Report{}, fail(ReasonNoDocument, "the multipart body has no JSON or XML part (the event document)")
	}
	r, err := m.decodeDocument(docFormat, doc, images)
	if e := (*Error)(nil); errors.As(err, &e) {
		e.Detail = fmt.Sprintf("part %q: %s", docPart, e.Detail)
	}
	return r, err
}

// partName names a part for the operator: its file name, form field or
// Content-ID, else its number.
func partName(p *multipart.Part, i int) string {
	name := p.FileName()
	if name == "" {
		name = p.FormName()
	}
	if name == "" {
		name = strings.Trim(p.Header.Get("Content-ID"), "<> ")
	}
	if name == "" {
		name = fmt.Sprintf("part%d", i+1)
	}
	return clip(strings.ToValidUTF8(name, "?"))
}

// decodeBase64 reads standard base64, padded or not, with line breaks.
func decodeBase64(data []byte) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, string(data))
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		out, err = base64.RawStdEncoding.DecodeString(s)
	}
	return out, err
}
