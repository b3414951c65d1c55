// Package grading grades each building of a community green, yellow or
// red for a month, the way a police room grades the venues it watches
// (场所分级): a building that keeps raising alarms, lets them go
// unanswered or drops off the network gets more of the patrol's and the
// property manager's attention next month.
//
// A building's score is a sum of points, each a count times a weight:
//
//   - alarms: every alarm of severity warning or higher raised in the
//     month. A hazard building up or present is the first thing a venue is
//     judged by.
//   - fires: again, every one of those alarms that reached fire severity.
//     A fire is life at risk now, so it weighs more than any other alarm.
//   - faults: every fault event (故障) reported in the month, clears and
//     "offline" aside. A detector in fault is a blind spot; faults weigh
//     less than alarms because they put nobody at risk by themselves.
//   - unhandled: every such alarm not acknowledged within
//     Config.UnhandledAfter of being raised. A slow or missing answer is
//     what a grade most has to show: the building's alarms reached nobody.
//   - offline_hours: the hours its devices spent offline, summed over the
//     devices. A device offline cannot raise anything, and an hour is the
//     unit because a short drop says little while days of silence say a
//     lot.
//
// A building scoring at least Config.Red is red, at least Config.Yellow
// yellow, and green otherwise; a building with nothing against it scores 0.
// Every Grade carries its Parts, so the console can say why a building got
// its colour and the weights can be argued about with the numbers in view.
//
// Compute is pure: the month, the present moment and everything it counts
// are arguments.
package grading
