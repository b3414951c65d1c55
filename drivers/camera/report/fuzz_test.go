package report

import (
	"testing"
)

// The fuzz targets check that Decode never panics, answers only with
// ErrNotThrow or an *Error, and returns a Report that keeps its
// invariants (a track in strictly increasing time from 0, finite
// coordinates) whenever it returns one to use. The seeds are the shipped
// samples and a few small cases; what the fuzzer finds goes to
// testdata/fuzz/.

func FuzzDecodeJSON(f *testing.F) {
	models := []*Model{testModel(f, "generic"), testModel(f, "dahua"), MustModel(f, frameModel)}
	f.Add(MustRead(f, "generic.json"))
	f.Add(MustRead(f, "dahua-toss.json"))
	f.Add([]byte(samples([3]any{1, 2, 0}, [3]any{"3", 4, 0.5})))
	f.Add([]byte(`{"f":[{"n":1,"b":{"x":1,"y":1,"w":2,"h":2}},{"n":3,"b":{"x":1,"y":5,"w":2,"h":2}}]}`))
	f.Add([]byte(`{"track":{"x":1,"y":2,"t":0},"images":["/9j/"],"urls":["http://a/b"],"time":1795478400123}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range models {
			for _, ct := range []string{"application/json", ""} {
				r, err := m.Decode(ct, body)
				checkResult(t, r, err)
			}
		}
	})
}

func FuzzDecodeXML(f *testing.F) {
	models := []*Model{testModel(f, "hik"), MustModel(f, xmlModel)}
	f.Add(MustRead(f, "hikvision-isapi.xml"))
	f.Add([]byte(`<r><Cams><Cam/><Cam id="b"/></Cams><Track><P x="1" y="2"/><P><x>1</x><y>3</y></P></Track></r>`))
	f.Add([]byte(`<EventNotificationAlert><eventType>highAltitudeThrowing</eventType><eventState>active</eventState>` +
		`<TrackList><Track><TargetRect><X>1</X><Y>1</Y><width>0</width><height>0</height></TargetRect></Track></TrackList></EventNotificationAlert>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, m := range models {
			for _, ct := range []string{"application/xml", ""} {
				r, err := m.Decode(ct, body)
				checkResult(t, r, err)
			}
		}
	})
}

// FuzzDecodeMultipart fuzzes the body under a fixed boundary, "B", so the
// fuzzer can reach the parts.
func FuzzDecodeMultipart(f *testing.F) {
	hik, generic := testModel(f, "hik"), testModel(f, "generic")
	seed := func(body []byte) []byte {
		return append(append([]byte("--B\r\n"), body...), "\r\n--B--\r\n"...)
	}
	f.Add(seed(append([]byte("Content-Disposition: form-data; name=\"highAltitudeThrowing\"\r\nContent-Type: application/xml\r\n\r\n"),
		MustRead(f, "hikvision-isapi.xml")...)))
	f.Add(seed(append([]byte("Content-Type: application/json\r\n\r\n"), samples([3]any{1, 2, 0})...)))
	f.Add([]byte("--B\r\nContent-Type: image/jpeg\r\nContent-Disposition: form-data; name=\"p\"; filename=\"p.jpg\"\r\n\r\n\xff\xd8\xff\xe0\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\n{\"track\":[{\"x\":1,\"y\":1,\"t\":0}]}\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Transfer-Encoding: base64\r\nContent-Type: image/png\r\n\r\niVBORw0KGgo=\r\n--B--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"multipart/form-data; boundary=B", "multipart/mixed; boundary=B"} {
			r, err := hik.Decode(ct, body)
			checkResult(t, r, err)
			r, err = generic.Decode(ct, body)
			checkResult(t, r, err)
		}
	})
}
