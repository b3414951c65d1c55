package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang/drivers/camera"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/gateway"
)

const cameraUsage = "Usage: shouwang camera calibrate [-c FILE] CAMERA\n"

// cmdCamera is `shouwang camera calibrate`: it checks a camera's
// calibration in the config file (every problem as file:line:col) and
// prints the window grid it implies, with where each window's centre is
// in the image, so the installer can hold it against a snapshot.
func cmdCamera(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "calibrate" {
		fmt.Fprint(stderr, cameraUsage)
		return 2
	}
	fs := flag.NewFlagSet("camera calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", defaultConfigFile, "config file")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, cameraUsage)
		return 2
	}
	id := fs.Arg(0)
	plan, err := gateway.Load(*file)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	var known []string
	for _, d := range plan.Drivers {
		c, ok := d.Config.(*camera.Config)
		if !ok {
			continue
		}
		if cam := c.Cameras[id]; cam != nil {
			printGrid(stdout, id, &cam.Calibration)
			return 0
		}
		for k := range c.Cameras {
			known = append(known, k)
		}
	}
	slices.Sort(known)
	fmt.Fprintf(stderr, "shouwang camera calibrate: %s has no camera %q (cameras: %s)\n", *file, id, strings.Join(known, ", "))
	return 1
}

func printGrid(w io.Writer, id string, c *facade.Calibration) {
	grid := c.Grid()
	fmt.Fprintf(w, "%s: façade %.1f m wide, %.1f to %.1f m up; %d floors (ground %.2f m, then %.2f m); %d windows\n",
		id, c.Width, c.Bottom, c.Bottom+c.Height, c.Floors, c.GroundFloorHeight, c.FloorHeight, len(grid))
	// How far one position's noise reaches on the façade, low and high:
	// what decides how sure a floor can be.
	for _, at := range []struct {
		name string
		z    float64
	}{{"bottom", c.Bottom}, {"top", c.Bottom + c.Height}} {
		p, _ := c.ToImage(facade.Point{X: c.Width / 2, Y: at.z})
		q, _ := c.ToFacade(facade.Point{X: p.X, Y: p.Y + c.PixelNoise})
		fmt.Fprintf(w, "  %s centre at image (%.0f, %.0f): %.2g image units of noise is %.2f m on the façade\n",
			at.name, p.X, p.Y, c.PixelNoise, math.Abs(q.Y-at.z))
	}
	fmt.Fprintln(w, "floor  from m  windows: label @ image x,y of its centre")
	for f := c.Floors; f >= 1; f-- {
		fmt.Fprintf(w, "%4dF  %6.2f ", f, c.FloorBase(f))
		for _, win := range grid {
			if win.Floor != f {
				continue
			}
			p, _ := c.ToImage(facade.Point{X: (win.Left + win.Right) / 2, Y: (win.Bottom + win.Top) / 2})
			fmt.Fprintf(w, " %s@%.0f,%.0f", win.Label(), p.X, p.Y)
		}
		fmt.Fprintln(w)
	}
}
