package facade

import "github.com/shouwang-iot/shouwang"

// validate runs Validate and returns its problems, if any.
func validate(c *Calibration) error {
	var fe shouwang.FieldErrors
	c.Validate(&fe, "calibration")
	return fe.Err()
}
