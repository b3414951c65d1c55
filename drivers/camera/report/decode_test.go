package report

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// Models the tests read with, beside the shipped profiles.
const (
	genericModel = `{format: json, camera: camera, time: time, track: {path: track, point: {x: x, y: y}, t: t},
		images: [images], urls: [urls]}`
	frameModel = `{format: json, track: {path: f, box: {x: b.x, y: b.y, width: b.w, height: b.h}, frame: n, fps: 25}}`
	xmlModel   = `{format: xml, camera: Cams.Cam.1.id, track: {path: Track.P, point: {x: x, y: y}, fps: 10}}`
)

// samples writes a generic track of points (x, y, t).
func samples(pts ...[3]any) string {
	var b strings.Builder
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"x":%v,"y":%v,"t":%v}`, p[0], p[1], p[2])
	}
	return `{"track":[` + b.String() + `]}`
}

func TestDecodeMalformed(t *testing.T) {
	jpg := MustJPEG(t)
	hik := MustRead(t, "hikvision-isapi.xml")
	ok := samples([3]any{1, 2, 0}, [3]any{1, 3, 0.04})
	many := strings.Repeat(`{"x":1,"y":1,"t":0},`, maxSamples)
	urls := strings.Repeat(`"http://a/b",`, maxURLs)
	noDoc, noDocBody := MustMultipart(t, "form-data", imagePart("pic", jpg))
	jsonPart, jsonPartBody := MustMultipart(t, "form-data", part{map[string]string{"Content-Type": "application/json"}, []byte(ok)})
	var lots []part
	for range maxParts + 1 {
		lots = append(lots, imagePart("pic", jpg))
	}
	tooMany, tooManyBody := MustMultipart(t, "mixed", lots...)
	for _, tc := range []struct {
		name, model, contentType, body string
		reason, detail                 string // detail: a part of it
		partial                        bool
	}{
		{"truncated JSON", genericModel, "application/json", ok[:len(ok)-5], ReasonMalformed, "not valid JSON", false},
		{"JSON array", genericModel, "application/json", `[1,2]`, ReasonMalformed, "not an object", false},
		{"JSON too deep", genericModel, "application/json", `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, ReasonTooDeep, "deeper than 32", false},
		{"truncated XML", "hik", "application/xml", string(hik[:len(hik)/2]), ReasonMalformed, "not valid XML", false},
		{"XML two roots", xmlModel, "text/xml", `<a/><b/>`, ReasonMalformed, "second root", false},
		{"XML no root", xmlModel, "text/xml", `<?xml version="1.0"?>`, ReasonMalformed, "no root", false},
		{"XML in GB2312", xmlModel, "text/xml", `<?xml version="1.0" encoding="GB2312"?><a/>`, ReasonMalformed, "GB2312", false},
		{"XML too deep", xmlModel, "text/xml", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), ReasonTooDeep, "deeper than 32", false},
		{"XML for a JSON model", genericModel, "", `<a/>`, ReasonUnsupported, "the model reads JSON", false},
		{"JSON for an XML model", xmlModel, "application/json", ok, ReasonUnsupported, "the model reads XML", false},
		{"an image", genericModel, "image/jpeg", string(jpg), ReasonUnsupported, `"image/jpeg"`, false},
		{"empty MQTT payload", genericModel, "", "", ReasonUnsupported, "not an event document", false},
		{"bad Content-Type", genericModel, "json;;", ok, ReasonUnsupported, "does not parse", false},
		{"multipart without a document", genericModel, noDoc, string(noDocBody), ReasonNoDocument, "no JSON or XML part", false},
		{"multipart of the other format", "hik", jsonPart, string(jsonPartBody), ReasonUnsupported, `part "part1" is JSON`, false},
		{"multipart without boundary", genericModel, "multipart/form-data", ok, ReasonMalformed, "no boundary", false},
		{"multipart of too many parts", genericModel, tooMany, string(tooManyBody), ReasonTooManyParts, "more than 16 parts", false},
		{"multipart cut short", genericModel, noDoc, string(noDocBody[:len(noDocBody)-10]), ReasonMalformed, "breaks", false},
		{"no track", genericModel, "application/json", `{"camera":"c"}`, ReasonNoTrack, "no track", false},
		{"empty track", genericModel, "application/json", `{"track":[]}`, ReasonNoTrack, "empty", false},
		{"track of non-numbers", genericModel, "", samples([3]any{`"abc"`, 2, 0}), ReasonBadTrack, `track.0.x "abc" is not a number`, false},
		{"track of objects", genericModel, "", samples([3]any{1, `{}`, 0}), ReasonBadTrack, "track.0.y is an object", false},
		{"sample without time", genericModel, "", `{"track":[{"x":1,"y":1}]}`, ReasonBadTrack, "track.0 has no t", false},
		{"NaN", genericModel, "", samples([3]any{`"NaN"`, 2, 0}), ReasonBadTrack, "not a finite number", false},
		{"infinite", genericModel, "", samples([3]any{"1e400", 2, 0}), ReasonBadTrack, "not a finite number", false},
		{"absurd coordinate", genericModel, "", samples([3]any{1e9, 2, 0}), ReasonBadTrack, "out of range", false},
		{"negative coordinate", genericModel, "", samples([3]any{-5, 2, 0}), ReasonBadTrack, "outside the image", false},
		{"negative time", genericModel, "", samples([3]any{1, 2, -1}), ReasonBadTrack, "negative", false},
		{"time going backwards", genericModel, "", samples([3]any{1, 1, 0}, [3]any{1, 2, 0.08}, [3]any{1, 3, 0.04}), ReasonBadTrack, "track.2 is 0.04s", false},
		{"duplicate time", genericModel, "", samples([3]any{1, 1, 0}, [3]any{1, 2, 0}), ReasonBadTrack, "track.1", false},
		{"absurd span", genericModel, "", samples([3]any{1, 1, 0}, [3]any{1, 2, 600}), ReasonBadTrack, "at most 60s", false},
		{"box inside out", "dahua", "", `{"dwAlarmType":653,"frames":[{"PTS":0,"stuObjInfos":[{"stuBoundingBox":{"nLeft":50,"nTop":0,"nRight":40,"nBottom":10}}]}]}`,
			ReasonBadTrack, "inside out", false},
		{"box of negative size", frameModel, "", `{"f":[{"n":1,"b":{"x":1,"y":1,"w":-2,"h":2}}]}`, ReasonBadTrack, "negative", false},
		{"frame not a whole number", frameModel, "", `{"f":[{"n":1.5,"b":{"x":1,"y":1,"w":2,"h":2}}]}`, ReasonBadTrack, "not a frame number", false},
		{"too many samples", genericModel, "", `{"track":[` + many + `{"x":1,"y":1,"t":0}]}`, ReasonTooLarge, "more than 1024", false},
		{"XML sample not a number", xmlModel, "", `<r><Track><P><x>a</x><y>1</y></P></Track></r>`, ReasonBadTrack, `Track.P.0.x "a"`, false},
		// Beside the track: the report still holds the track.
		{"base64 garbage", genericModel, "", ok[:len(ok)-1] + `,"images":["!!not base64!!"]}`, ReasonBadImage, "images is not base64", true},
		{"base64 of no picture", genericModel, "", ok[:len(ok)-1] + `,"images":["aGVsbG8gd29ybGQ="]}`, ReasonBadImage, "not of a JPEG", true},
		{"image of a number", genericModel, "", ok[:len(ok)-1] + `,"images":[1]}`, ReasonBadImage, "a number", true},
		{"too many URLs", genericModel, "", ok[:len(ok)-1] + `,"urls":[` + urls + `"http://a/c"]}`, ReasonTooLarge, "more than 16", true},
		{"bad URL", genericModel, "", ok[:len(ok)-1] + `,"urls":"javascript:alert(1)"}`, ReasonBadURL, "not an absolute", true},
		{"bad time", genericModel, "", ok[:len(ok)-1] + `,"time":"yesterday"}`, ReasonBadTime, `time "yesterday" is not an RFC 3339`, true},
		{"time never set", genericModel, "", ok[:len(ok)-1] + `,"time":0}`, ReasonBadTime, "before 2000", true},
		{"camera id an object", genericModel, "", ok[:len(ok)-1] + `,"camera":{"id":1}}`, ReasonBadValue, "camera (the camera id) is an object", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.model)
			r, err := m.Decode(tc.contentType, []byte(tc.body))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if e.Reason != tc.reason || !strings.Contains(e.Detail, tc.detail) || e.Partial != tc.partial {
				t.Fatalf("got %s (partial %t), want %s: …%s… (partial %t)", e, e.Partial, tc.reason, tc.detail, tc.partial)
			}
			checkResult(t, r, err)
		})
	}
}

// testModel is a shipped profile's model ("hik", "dahua", "generic") or
// one written out.
func testModel(tb testing.TB, name string) *Model {
	switch name {
	case "hik":
		return MustProfileModel(tb, "camera-throw-hikvision-isapi.yaml")
	case "dahua":
		return MustProfileModel(tb, "camera-throw-dahua-toss.yaml")
	case "generic":
		return MustProfileModel(tb, "camera-throw-generic-json.yaml")
	}
	return MustModel(tb, name)
}

func TestDecodeNotThrow(t *testing.T) {
	hik := string(MustRead(t, "hikvision-isapi.xml"))
	for _, tc := range []struct{ name, model, body, why string }{
		{"heartbeat", "hik", strings.Replace(hik, ">active<", ">inactive<", 1), `eventState is "inactive"`},
		{"other alarm", "hik", strings.Replace(hik, "highAltitudeThrowing", "VMD", 1), `eventType is "VMD"`},
		{"no event type", "hik", `<EventNotificationAlert><eventState>active</eventState></EventNotificationAlert>`, "has no eventType"},
		{"other Dahua event", "dahua", `{"dwAlarmType":652,"frames":[]}`, `dwAlarmType is "652"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := testModel(t, tc.model).Decode("", []byte(tc.body))
			if !errors.Is(err, ErrNotThrow) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want ErrNotThrow saying %s", err, tc.why)
			}
			checkResult(t, r, err)
		})
	}
	// Case and padding do not make a throw something else.
	body := strings.Replace(hik, ">active<", "> Active <", 1)
	if _, err := testModel(t, "hik").Decode("", []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeTimes(t *testing.T) {
	for _, tc := range []struct {
		name, model, body string
		want              []float64 // the samples' T
	}{
		{"t in seconds", genericModel, samples([3]any{1, 1, 0}, [3]any{1, 2, 0.04}), []float64{0, 0.04}},
		{"t from a later origin", genericModel, samples([3]any{1, 1, 10}, [3]any{1, 2, 10.5}), []float64{0, 0.5}},
		{"t in ms since the epoch", `{format: json, track: {path: track, point: {x: x, y: y}, t: t, t_unit: ms}}`,
			samples([3]any{1, 1, 1795996800000}, [3]any{1, 2, 1795996800040}), []float64{0, 0.04}},
		{"t in µs", `{format: json, track: {path: track, point: {x: x, y: y}, t: t, t_unit: us}}`,
			samples([3]any{1, 1, 5000}, [3]any{1, 2, 45000}), []float64{0, 0.04}},
		{"t as RFC 3339", `{format: json, track: {path: track, point: {x: x, y: y}, t: t, t_unit: rfc3339}}`,
			samples([3]any{1, 1, `"2026-11-24T08:00:00.960+08:00"`}, [3]any{1, 2, `"2026-11-24T00:00:01.000Z"`}), []float64{0, 0.04}},
		{"frames with gaps", frameModel, `{"f":[{"n":100,"b":{"x":1,"y":1,"w":2,"h":2}},{"n":101,"b":{"x":1,"y":3,"w":2,"h":2}},{"n":104,"b":{"x":1,"y":9,"w":2,"h":2}}]}`,
			[]float64{0, 0.04, 0.16}},
		{"fps alone", xmlModel, `<r><Track><P><x>1</x><y>1</y></P><P><x>1</x><y>2</y></P><P><x>1</x><y>4</y></P></Track></r>`,
			[]float64{0, 0.1, 0.2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := MustModel(t, tc.model).Decode("", []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r)
			if len(r.Track) != len(tc.want) {
				t.Fatalf("%d samples, want %d", len(r.Track), len(tc.want))
			}
			for i, s := range r.Track {
				if math.Abs(s.T-tc.want[i]) > 1e-9 {
					t.Errorf("sample %d at T=%g, want %g", i, s.T, tc.want[i])
				}
			}
		})
	}
}

// The timestamp is read by package stamp; here only that a document's
// value of each kind reaches it.
func TestEventTime(t *testing.T) {
	want := time.Date(2026, 11, 24, 0, 0, 0, 123_000_000, time.UTC)
	for _, tc := range []struct {
		v    value
		unit string
	}{
		{value{num: 1795478400123, isNum: true}, stamp.Auto},
		{value{text: "1795478400.123", isText: true}, stamp.Seconds},
		{value{text: " 2026-11-24T00:00:00.123Z ", isText: true}, stamp.RFC3339},
	} {
		got, err := tc.v.time(tc.unit)
		if err != nil || !got.Equal(want) {
			t.Errorf("%+v in %s: %v, %v; want %v", tc.v, tc.unit, got, err, want)
		}
	}
	if _, err := (value{isBool: true}).time(stamp.Auto); err == nil {
		t.Error("a boolean read as a time")
	}
}

func TestDecodeReadsLeniently(t *testing.T) {
	jpg := MustJPEG(t)
	b64 := base64.StdEncoding.EncodeToString(jpg)
	// Numbers as text, a data: URI, one URL as a string, an MQTT payload
	// without Content-Type.
	body := `{"camera":17,"time":"1795996800","track":[{"x":"812","y":" 140 ","t":"0"},{"x":815,"y":260,"t":0.04}],
		"images":"data:image/jpeg;base64,` + b64 + `","urls":"rtsp://cam/clip"}`
	for _, ct := range []string{"", "application/json; charset=utf-8", "text/plain", "application/octet-stream"} {
		r, err := MustModel(t, genericModel).Decode(ct, []byte(body))
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		checkReport(t, r)
		if r.Camera != "17" || r.Time.Unix() != 1795996800 || r.Track[0] != (Sample{812, 140, 0}) ||
			len(r.Images) != 1 || r.Images[0].Name != "images" || len(r.URLs) != 1 {
			t.Fatalf("%q: %+v", ct, r)
		}
	}
	// XML: attributes read like children, indexes pick a repeated
	// element, namespaces are ignored.
	x := `<r xmlns="urn:x" xmlns:h="urn:h"><Cams><Cam><id>a</id></Cam><Cam id="b"/></Cams>
		<Track><h:P x="1" y="2"/><P><x>1</x><y>3</y></P></Track></r>`
	r, err := MustModel(t, xmlModel).Decode("", []byte(x))
	if err != nil {
		t.Fatal(err)
	}
	if r.Camera != "b" || len(r.Track) != 2 || r.Track[0] != (Sample{1, 2, 0}) || r.Track[1] != (Sample{1, 3, 0.1}) {
		t.Fatalf("%+v", r)
	}
	// multipart/mixed: a document without Content-Type and a base64
	// encoded picture.
	ct, mp := MustMultipart(t, "mixed",
		part{map[string]string{"Content-ID": "<event>"}, []byte(samples([3]any{1, 1, 0}))},
		part{map[string]string{"Content-Type": "image/png", "Content-Transfer-Encoding": "base64", "Content-ID": "<shot>"},
			[]byte(base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nrest")))},
	)
	r, err = MustModel(t, genericModel).Decode(ct, mp)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 1 || r.Images[0].Name != "shot" || r.Images[0].ContentType != "image/png" || string(r.Images[0].Data[:4]) != "\x89PNG" {
		t.Fatalf("%+v", r.Images)
	}
}
