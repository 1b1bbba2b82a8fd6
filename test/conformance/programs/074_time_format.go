package main

import (
	"fmt"
	"time"
)

func main() {
	t := time.Date(2024, time.February, 29, 13, 4, 5, 123456789, time.UTC)
	fmt.Println(t)
	fmt.Println(t.Format(time.RFC3339), t.Format(time.RFC3339Nano))
	fmt.Println(t.Format("2006-01-02 15:04:05.000"), t.Format("Mon Jan 2 3:04PM"))
	fmt.Println(t.Year(), t.Month(), t.Day(), t.Weekday(), t.YearDay())
	u := t.Add(36 * time.Hour)
	fmt.Println(u.Format(time.DateOnly), u.Sub(t), u.After(t))
	fmt.Println(t.AddDate(0, 1, 0).Format(time.DateOnly))
	p, err := time.Parse("2006-01-02", "2023-12-25")
	fmt.Println(p, err, p.Unix())
	d := 90*time.Minute + 30*time.Second
	fmt.Println(d, d.Hours(), d.Truncate(time.Hour))
	pd, _ := time.ParseDuration("1h15m")
	fmt.Println(pd.Minutes())
	fmt.Println(time.Unix(0, 0).UTC().Format(time.Kitchen))
	fmt.Println(t.Truncate(24 * time.Hour).Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)))
}
