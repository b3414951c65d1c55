package camera

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Event kinds the driver reports: a throw, and its clear right after (a
// throw is a moment, not a state; the alarm stays until closed).
const (
	KindThrown = "object_thrown"
)

// Driver takes camera reports over HTTP and MQTT and turns each into an
// incident. Reports are filed and published one at a time (mu): merging
// and linking need the order, an incident's events must reach the rules
// in it, and cameras report seldom.
type Driver struct {
	cfg      Config
	name     string
	logger   *slog.Logger
	now      func() time.Time
	cams     map[string]*camState // by address
	evidence *evidenceStore
	metrics  *metrics

	mu        sync.Mutex // one report at a time; guards book, pub, srv, client, cancel
	book      incidentBook
	pub       shouwang.Publisher
	srv       *http.Server
	client    paho.Client
	msgs      chan paho.Message
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type camState struct {
	dev   shouwang.Device
	model *report.Model
	cal   *facade.Calibration
	token string
}

func newDriver(c Config, env shouwang.DriverEnv) *Driver {
	d := &Driver{cfg: c, name: env.Name, logger: env.Logger, now: env.Now, cams: map[string]*camState{},
		evidence: newEvidence(filepath.Join(env.Dir, "evidence"), int64(c.EvidenceQuota)),
		book:     incidentBook{merge: c.MergeWindow, link: c.LinkWindow, windows: map[string][]linkedThrow{}, reports: map[[32]byte]*filed{}},
		msgs:     make(chan paho.Message, 64)}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	for _, dev := range env.Devices {
		cam := c.Cameras[dev.ID]
		d.cams[dev.Key()] = &camState{dev: dev, model: model(env.Models, dev), cal: &cam.Calibration, token: cam.Token.Reveal()}
	}
	d.metrics = newMetrics(env.Name, func() float64 { return float64(d.evidence.size()) })
	return d
}

// Evidence serves the kept images (shouwang.EvidenceKeeper).
func (d *Driver) Evidence() fs.FS { return os.DirFS(d.evidence.dir) }

// Start opens the evidence store, listens, subscribes, and returns once
// cameras can report.
func (d *Driver) Start(ctx context.Context, pub shouwang.Publisher) error {
	if err := d.evidence.open(); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	d.mu.Lock()
	d.pub, d.cancel = pub, cancel
	d.mu.Unlock()
	if d.cfg.Listen != "" {
		ln, err := net.Listen("tcp", d.cfg.Listen)
		if err != nil {
			cancel()
			return fmt.Errorf("listen: %w", err)
		}
		d.srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			BaseContext: func(net.Listener) context.Context { return runCtx }}
		d.wg.Go(func() {
			if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.logger.Error("camera HTTP listener stopped", "err", err)
			}
		})
		d.logger.Info("taking camera events over HTTP", "addr", ln.Addr().String())
	}
	if m := d.cfg.MQTT; m != nil {
		d.wg.Go(func() { d.consume(runCtx) })
		s := mqttconn.Session{Broker: &m.Broker, Filters: map[string]byte{m.pattern.Filter(): byte(m.QoS)},
			ConnectTimeout: m.ConnectTimeout, KeepAlive: m.KeepAlive, Logger: d.logger,
			Receive: func(msg paho.Message) {
				select {
				case d.msgs <- msg:
				case <-runCtx.Done(): // not acknowledged: the broker sends it again
				}
			}}
		client, err := s.Connect(runCtx)
		if err != nil {
			d.Close()
			return err
		}
		d.mu.Lock()
		d.client = client
		d.mu.Unlock()
	}
	return nil
}

// Close stops listening and subscribing and waits for reports under way.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		cancel, srv, client := d.cancel, d.srv, d.client
		d.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		if srv != nil {
			ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
			srv.Shutdown(ctx)
			stop()
			srv.Close()
		}
		if client != nil {
			client.Disconnect(250)
		}
		d.wg.Wait()
	})
	return nil
}

// consume handles MQTT messages in order, acknowledging each once its
// incident is durable, or once it is known never to be one.
func (d *Driver) consume(ctx context.Context) {
	caps := make([]string, 1)
	for {
		var msg paho.Message
		select {
		case msg = <-d.msgs:
		case <-ctx.Done():
			return
		}
		if !d.cfg.MQTT.pattern.Match(msg.Topic(), caps) {
			d.refuse("unknown_camera", "topic matches no subscription", "topic", msg.Topic())
			msg.Ack()
			continue
		}
		cam := d.cams[caps[0]]
		if cam == nil {
			d.refuse("unknown_camera", "no camera has this address", "topic", msg.Topic())
			msg.Ack()
			continue
		}
		commit := func(b shouwang.Batch) error {
			if !mqttconn.Commit(ctx, d.pub, b, d.logger) {
				return shouwang.ErrStopped
			}
			return nil
		}
		if _, err := d.take(cam, "", msg.Payload(), commit); err != nil && !isDecodeError(err) && !errors.Is(err, report.ErrNotThrow) {
			return // not durable: the broker sends it again
		}
		msg.Ack()
	}
}

// result is what the camera is told.
type result struct {
	Incident   string   `json:"incident"`
	Merged     bool     `json:"merged,omitempty"`
	Window     string   `json:"window,omitempty"`
	Floor      int      `json:"floor,omitempty"`
	Confidence float64  `json:"confidence"`
	Candidates []string `json:"candidates,omitempty"`
	Weak       string   `json:"weak,omitempty"`
	Evidence   []string `json:"evidence,omitempty"`
}

// take decodes one report and, when it is a throw, files it and commits
// the incident's events; it returns once they are durable. An error is a
// *report.Error or report.ErrNotThrow for the body, or commit's.
func (d *Driver) take(cam *camState, contentType string, body []byte, commit func(shouwang.Batch) error) (result, error) {
	rep, err := cam.model.Decode(contentType, body)
	var re *report.Error
	switch {
	case errors.As(err, &re) && re.Partial:
		// The track read; a bad picture or time must not lose the throw.
		d.logger.Warn("camera event read in part", "camera", cam.dev.ID, "err", err)
	case errors.Is(err, report.ErrNotThrow):
		d.metrics.reports.WithLabelValues("ignored").Inc()
		return result{}, err
	case err != nil:
		d.refuse("bad", "unreadable camera event", "camera", cam.dev.ID, "err", err)
		return result{}, err
	}
	tr := cam.cal.Trace(rep.Track)
	d.mu.Lock()
	defer d.mu.Unlock()
	recv := d.now()
	key := reportKey(cam.dev.ID, body)
	f := d.book.again(key, recv)
	switch {
	case f == nil:
		inc, merged := d.book.add(cam.dev, tr, recv)
		d.book.linkWindow(inc)
		d.keepImages(inc, cam, rep)
		f = &filed{inc: inc, merged: merged, at: recv}
		d.book.reports[key] = f
	case f.committed:
		d.metrics.reports.WithLabelValues("repeated").Inc()
		return d.result(f), nil
	}
	// else sent again after a failed commit: the same incident, committed again.
	at := rep.Time
	if at.IsZero() || at.Sub(recv).Abs() > 10*time.Minute { // a camera whose clock drifted
		at = recv
	}
	ev := d.event(f.inc, cam, rep, at)
	clear := shouwang.Event{Device: ev.Device, Kind: shouwang.ClearKind(KindThrown), Severity: shouwang.Info, Time: at}
	if err := commit(shouwang.Batch{Events: []shouwang.Event{ev, clear}}); err != nil {
		d.metrics.reports.WithLabelValues("not_committed").Inc()
		return result{}, err
	}
	f.committed = true
	outcome := "incident"
	if f.merged {
		outcome = "merged"
	}
	d.metrics.reports.WithLabelValues(outcome).Inc()
	return d.result(f), nil
}

// keepImages stores the report's pictures as the incident's evidence,
// with its picture URLs.
func (d *Driver) keepImages(inc *incident, cam *camState, rep report.Report) {
	for i, img := range rep.Images {
		name := fmt.Sprintf("%s-%s-%d%s", inc.id, fileSafe(cam.dev.ID), i+1, extension(img.ContentType))
		if err := d.evidence.keep(name, img.Data); err != nil {
			d.logger.Error("evidence image not kept", "camera", cam.dev.ID, "incident", inc.id, "err", err)
			continue
		}
		inc.evidence = append(inc.evidence, "/api/v1/evidence/"+d.name+"/"+name)
	}
	inc.evidence = append(inc.evidence, rep.URLs...)
}

// result is the answer to the camera whose report was filed as f.
func (d *Driver) result(f *filed) result {
	inc := f.inc
	res := result{Incident: inc.id, Merged: f.merged, Floor: inc.trace.Floor, Confidence: round2(inc.trace.Confidence),
		Weak: inc.trace.Weak, Evidence: inc.evidence}
	if w := inc.trace.Window; w != nil {
		res.Window = w.Label()
	}
	for _, c := range inc.trace.Candidates {
		res.Candidates = append(res.Candidates, c.Label())
	}
	return res
}

// event is the incident as an event on the camera that first saw it.
func (d *Driver) event(inc *incident, cam *camState, rep report.Report, at time.Time) shouwang.Event {
	tr := inc.trace
	attrs := map[string]string{
		"incident":   inc.id,
		"cameras":    strings.Join(inc.cameras, ","),
		"confidence": strconv.FormatFloat(round2(tr.Confidence), 'f', -1, 64),
		"positions":  fmt.Sprintf("%d/%d", tr.Samples, tr.Reported),
	}
	msg := "object thrown"
	if w := tr.Window; w != nil {
		attrs[shouwang.AttrFloor] = strconv.Itoa(w.Floor)
		attrs["window"] = w.Label()
		attrs["column"] = strconv.Itoa(w.Column)
		if w.Room != "" {
			attrs[shouwang.AttrRoom] = w.Room
		}
		if w.Unit != "" {
			attrs[shouwang.AttrUnit] = w.Unit
		}
		msg = fmt.Sprintf("object thrown from %s, confidence %.2f", w.Label(), tr.Confidence)
	} else {
		if tr.Floor != 0 {
			attrs[shouwang.AttrFloor] = strconv.Itoa(tr.Floor)
			msg = fmt.Sprintf("object thrown from floor %d (window uncertain)", tr.Floor)
		} else {
			msg = "object thrown; origin uncertain"
		}
		attrs["weak"] = tr.Weak
	}
	if len(tr.Candidates) > 0 {
		var cs []string
		for _, c := range tr.Candidates {
			cs = append(cs, fmt.Sprintf("%s %.2f", c.Label(), c.P))
		}
		attrs["candidates"] = strings.Join(cs, ", ")
	}
	if tr.Spread != (facade.Point{}) {
		attrs["release"] = fmt.Sprintf("%.1f,%.1f±%.1f,%.1f", tr.Release.X, tr.Release.Y, tr.Spread.X, tr.Spread.Y)
	}
	if len(inc.evidence) > 0 {
		attrs["evidence"] = strings.Join(inc.evidence, " ")
	}
	if len(inc.linked) > 0 {
		attrs["linked"] = strings.Join(inc.linked, ",")
		msg += fmt.Sprintf("; %d earlier throw(s) from this window", len(inc.linked))
	}
	if rep.Camera != "" {
		attrs["camera_id"] = rep.Camera
	}
	return shouwang.Event{Device: inc.device.ID, Kind: KindThrown, Severity: shouwang.Alarm, Message: msg, Time: at, Attrs: attrs}
}

// refuse counts a report not taken and logs why.
func (d *Driver) refuse(outcome, msg string, args ...any) {
	d.metrics.reports.WithLabelValues(outcome).Inc()
	d.logger.Warn(msg, args...)
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// isDecodeError says the body itself is wrong, not the gateway.
func isDecodeError(err error) bool {
	var de *report.Error
	return errors.As(err, &de)
}
