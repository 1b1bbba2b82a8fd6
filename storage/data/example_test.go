//go:build duckdb_arrow

package data_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferryml/ferry/storage/data"
)

func ExampleQuery() {
	t, err := data.Query("SELECT range AS n, range * range AS sq FROM range(5) WHERE range >= ?", 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(t.NumRows(), t.ColumnNames())
	for it := t.Rows(); it.Next(); {
		fmt.Println(it.Row())
	}
	// Output:
	// 3 [n sq]
	// [2 4]
	// [3 9]
	// [4 16]
}

func ExampleFromStructs() {
	type trip struct {
		City     string
		Distance float64 `data:"km"`
		Start    time.Time
	}
	trips := []trip{
		{"Oslo", 12.5, time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)},
		{"Oslo", 3.0, time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)},
		{"Bergen", 7.25, time.Date(2026, 1, 3, 7, 15, 0, 0, time.UTC)},
	}
	t, err := data.FromStructs(trips)
	if err != nil {
		panic(err)
	}
	if err := data.Register("trips", t); err != nil {
		panic(err)
	}
	res, err := data.Query("SELECT City AS city, sum(km) AS km FROM trips GROUP BY 1 ORDER BY 1")
	if err != nil {
		panic(err)
	}
	var totals []struct {
		City string
		Km   float64
	}
	if err := res.ToStructs(&totals); err != nil {
		panic(err)
	}
	fmt.Println(totals)
	// Output: [{Bergen 7.25} {Oslo 15.5}]
}

func ExampleTable_Describe() {
	dir, _ := os.MkdirTemp("", "data-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "xs.parquet")
	gen, _ := data.Query("SELECT range::DOUBLE AS x, CASE WHEN range % 5 = 0 THEN NULL ELSE 'k' || (range % 2) END AS k FROM range(101)")
	if err := gen.WriteParquet(path); err != nil {
		panic(err)
	}
	t, err := data.Read(path)
	if err != nil {
		panic(err)
	}
	s, err := t.Describe()
	if err != nil {
		panic(err)
	}
	x, _ := s.Get("x")
	fmt.Println(x.Count, x.Nulls, *x.Mean, x.Min, *x.Q25, *x.Q50, *x.Q75, x.Max)
	k, _ := s.Get("k")
	fmt.Println(k.Count, k.Nulls, k.Mean == nil, k.Distinct, k.Top, k.Freq)
	// Output:
	// 101 0 50 0.0 25 50 75 100.0
	// 80 21 true 2 k0 40
}

func ExampleTable_Hist() {
	t, _ := data.Query("SELECT (range % 4)::DOUBLE AS x FROM range(100)")
	chart, err := t.Hist("x", 4)
	if err != nil {
		panic(err)
	}
	bundle, _ := chart.MIMEBundle()
	fmt.Println(bundle["text/plain"])
	// Output: <VegaLite chart "Histogram of x">
}
