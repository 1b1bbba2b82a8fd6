package bayesopt

import (
	"os"
	"strconv"
)

func knob(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv("BO_"+name), 64); err == nil {
		return v
	}
	return def
}
