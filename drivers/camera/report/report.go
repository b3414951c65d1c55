// Package report reads a throw-from-height camera's event, in whatever
// shape its model sends it (a JSON or XML document, alone or as a part of
// a multipart body beside JPEG images), into one Report, following the
// model's "camera:" section of its device profile.
package report

import "time"

// Report is one camera's account of one falling object.
type Report struct {
	// Camera is the id the camera gives itself in the document (a serial
	// number, a channel id), or "" when the model names no such field;
	// the driver then knows the camera by its topic or its credentials.
	Camera string
	// Time is when the camera saw the object, by the camera's clock, or
	// zero when the document says nothing.
	Time time.Time
	// Track is the object's path in image pixels, in time order. T is in
	// seconds from the first sample; frames the camera skipped are simply
	// absent.
	Track []Sample
	// Images are pictures posted with the event (multipart parts or
	// base64 fields), for the evidence store.
	Images []Image
	// URLs are evidence the camera keeps itself: picture or clip URLs.
	URLs []string
}

// Sample is one position of the object in the image, in pixels from the
// top left corner, T seconds after the track's first sample.
// It marshals as the generic JSON profile's track sample.
type Sample struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	T float64 `json:"t"`
}

// Image is one picture posted with an event.
type Image struct {
	Name        string // the part's file name or field, for the operator
	ContentType string // image/jpeg, image/png
	Data        []byte
}
