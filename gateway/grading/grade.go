package grading

import (
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

// The grades, from best to worst.
const (
	Green  = "green"
	Yellow = "yellow"
	Red    = "red"
)

// Building is one building to grade: ID is its id within the site (a
// device's Location.Building), Site the community's (Location.Community).
type Building struct {
	Site, ID, Name string
}

// Input is what a month's grades are computed from.
type Input struct {
	// Month is any instant in the month; the month is taken in Month's
	// time zone, so Beijing months need a time in Asia/Shanghai or a
	// fixed +08:00 zone.
	Month time.Time
	// Now is the present moment. For a month still running, offline time
	// runs to Now rather than the month's end, and an alarm still waiting
	// for its first acknowledgement counts as unhandled only once
	// UnhandledAfter has passed by Now. Zero means the month is long over.
	Now time.Time
	// Buildings are the buildings to grade; every one gets a Grade.
	Buildings []Building
	// Devices place the devices in buildings.
	Devices []shouwang.Device
	// Alarms are open and closed alarms; those raised in the month count.
	Alarms []rules.Alarm
	// Events are the month's events, and before them enough to tell
	// whether a device was offline when the month began: an "offline"
	// with no "online" after it before the month counts from the month's
	// first instant.
	Events []shouwang.Event
}

// Grade is one building's grade for the month, with how it was reached.
type Grade struct {
	Site     string  `json:"site"`
	Building string  `json:"building"`
	Name     string  `json:"name"`
	Grade    string  `json:"grade"` // Green, Yellow or Red
	Score    float64 `json:"score"` // the sum of the parts' points
	Parts    []Part  `json:"parts"`
}

// Part is one line of a score: a count times its weight.
type Part struct {
	What    string  `json:"what"` // PartAlarms, PartFires, PartFaults, PartUnhandled, PartOfflineHours
	Count   float64 `json:"count"`
	Weight  float64 `json:"weight"`
	Points  float64 `json:"points"`
	Explain string  `json:"explain"` // in English; the console builds its own from What, Count and Weight
}

// What a Part counts.
const (
	PartAlarms       = "alarms"
	PartFires        = "fires"
	PartFaults       = "faults"
	PartUnhandled    = "unhandled"
	PartOfflineHours = "offline_hours"
)

// Compute grades every building of in.Buildings for in.Month, in that
// order. Each Grade lists all five parts, in the order of the Part*
// constants, zeros included, so the console can lay them out as a table.
// c should be valid (see Validate).
func Compute(c Config, in Input) []Grade {
	from, to := MonthRange(in.Month)
	p := period{from: from, to: to, end: to, now: in.Now}
	if !in.Now.IsZero() {
		p.end = clamp(in.Now, from, to)
	}
	tallies := count(c, in, p)

	grades := make([]Grade, len(in.Buildings))
	for i, b := range in.Buildings {
		parts := tallies[buildingKey{b.Site, b.ID}].parts(c)
		// The sum of the points as shown, rounded again only to drop
		// float noise (0.1+0.2), so the parts add up to the score.
		var score float64
		for _, pt := range parts {
			score += pt.Points
		}
		score = round2(score)
		grades[i] = Grade{Site: b.Site, Building: b.ID, Name: b.Name, Grade: colour(c, score), Score: score, Parts: parts}
	}
	return grades
}

// colour is the grade a score earns.
func colour(c Config, score float64) string {
	switch {
	case score >= c.Red:
		return Red
	case score >= c.Yellow:
		return Yellow
	}
	return Green
}

func clamp(t, lo, hi time.Time) time.Time {
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return t
}
