package report

import (
	"math"
	"testing"
	"time"
)

// TestProfiles decodes each shipped profile's sample into the Report its
// comment promises.
func TestProfiles(t *testing.T) {
	jpg := MustJPEG(t)
	hikCT, hikBody := MustMultipart(t, "form-data",
		xmlPart("highAltitudeThrowing", MustRead(t, "hikvision-isapi.xml")),
		imagePart("highAltitudeThrowingImage", jpg))
	for _, tc := range []struct {
		profile, contentType string
		body                 []byte
		want                 Report
	}{
		{
			profile: "camera-throw-generic-json.yaml", contentType: "application/json", body: MustRead(t, "generic.json"),
			want: Report{
				Camera: "cam-3-south",
				Time:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
				Track:  []Sample{{812, 140, 0}, {815, 260, 0.04}, {819, 410, 0.08}, {822, 590, 0.12}},
				Images: []Image{{Name: "images", ContentType: "image/jpeg"}},
				URLs:   []string{"http://192.168.1.20/clips/20261124-080000.mp4"},
			},
		},
		{
			// The same document as an MQTT payload: no Content-Type.
			profile: "camera-throw-generic-json.yaml", body: MustRead(t, "generic.json"),
			want: Report{
				Camera: "cam-3-south",
				Time:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
				Track:  []Sample{{812, 140, 0}, {815, 260, 0.04}, {819, 410, 0.08}, {822, 590, 0.12}},
				Images: []Image{{Name: "images", ContentType: "image/jpeg"}},
				URLs:   []string{"http://192.168.1.20/clips/20261124-080000.mp4"},
			},
		},
		{
			profile: "camera-throw-hikvision-isapi.yaml", contentType: hikCT, body: hikBody,
			want: Report{
				Camera: "44:19:b6:00:00:01",
				Time:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
				// TargetRect centres, normalised as the camera sends them.
				Track:  []Sample{{0.425, 0.086, 0}, {0.426, 0.146, 0.04}, {0.428, 0.236, 0.08}},
				Images: []Image{{Name: "highAltitudeThrowingImage.jpg", ContentType: "image/jpeg"}},
			},
		},
		{
			// Older firmware posts the XML alone.
			profile: "camera-throw-hikvision-isapi.yaml", contentType: `application/xml; charset="UTF-8"`, body: MustRead(t, "hikvision-isapi.xml"),
			want: Report{
				Camera: "44:19:b6:00:00:01",
				Time:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
				Track:  []Sample{{0.425, 0.086, 0}, {0.426, 0.146, 0.04}, {0.428, 0.236, 0.08}},
			},
		},
		{
			profile: "camera-throw-dahua-toss.yaml", body: MustRead(t, "dahua-toss.json"),
			want: Report{
				Camera: "7J0ABCDPAZ12345",
				Time:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
				// Box centres in Dahua's 0–8191 range; PTS in ms.
				Track:  []Sample{{4110, 630, 0}, {4112, 840, 0.04}, {4116, 1420, 0.12}},
				Images: []Image{{Name: "picture", ContentType: "image/jpeg"}},
			},
		},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			r, err := MustProfileModel(t, tc.profile).Decode(tc.contentType, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, r)
			w := tc.want
			if r.Camera != w.Camera || !r.Time.Equal(w.Time) {
				t.Errorf("camera %q at %v, want %q at %v", r.Camera, r.Time, w.Camera, w.Time)
			}
			if len(r.Track) != len(w.Track) {
				t.Fatalf("track %v, want %v", r.Track, w.Track)
			}
			for i, s := range r.Track {
				if d := w.Track[i]; math.Abs(s.X-d.X) > 1e-9 || math.Abs(s.Y-d.Y) > 1e-9 || math.Abs(s.T-d.T) > 1e-9 {
					t.Errorf("sample %d is %+v, want %+v", i, s, d)
				}
			}
			if len(r.Images) != len(w.Images) {
				t.Fatalf("%d images, want %d", len(r.Images), len(w.Images))
			}
			for i, img := range r.Images {
				if img.Name != w.Images[i].Name || img.ContentType != w.Images[i].ContentType || len(img.Data) < 100 {
					t.Errorf("image %q (%s, %d bytes), want %q (%s)", img.Name, img.ContentType, len(img.Data), w.Images[i].Name, w.Images[i].ContentType)
				}
			}
			if len(r.URLs) != len(w.URLs) || (len(w.URLs) > 0 && r.URLs[0] != w.URLs[0]) {
				t.Errorf("URLs %q, want %q", r.URLs, w.URLs)
			}
		})
	}
}
