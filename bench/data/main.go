//go:build duckdb_arrow

// Command data benchmarks inline data exploration: read + describe +
// group-by aggregate of a generated table (ints, floats, strings,
// timestamps) as CSV and as Parquet, through Ferry's storage/data (DuckDB)
// and through pandas (Debian's python3-pandas, run with /usr/bin/python3),
// each in a fresh process, in the same run: wall time per phase and peak
// RSS of the process.
//
//	go run -tags duckdb_arrow ./bench/data [-rows 10000000] [-runs 1]
//	    [-dir /tmp/ferry-bench-data] [-write /tmp/ferry-bench-data.md]
//
// Ferry runs two ways: Read loads the file into DuckDB first; Scan leaves
// it in place (a view) and each query reads it. Unless -s3=false, the
// Parquet file is also put to a versitygw started for the run (the binary
// from internal/testsrv.VersityGWPath) and scanned from s3:// through
// Ferry's object store, with a cold cache.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ferryml/ferry/storage/data"
)

// groupBy is the aggregate both sides compute.
const groupBy = `SELECT s, count(*) AS n, avg(x) AS x_mean, sum(y) AS y_sum, max(ts) AS ts_max FROM %s GROUP BY s ORDER BY s`

const pandasScript = `
import json, resource, sys, time
import pandas as pd
path, fmt = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if fmt == "csv":
    df = pd.read_csv(path, parse_dates=["ts"])
else:
    df = pd.read_parquet(path)
t1 = time.perf_counter()
d = df.describe(include="all", datetime_is_numeric=True)
t2 = time.perf_counter()
g = df.groupby("s").agg(n=("x", "size"), x_mean=("x", "mean"), y_sum=("y", "sum"), ts_max=("ts", "max")).sort_index()
t3 = time.perf_counter()
print(json.dumps({"read": t1-t0, "describe": t2-t1, "groupby": t3-t2, "rows": len(df), "groups": len(g),
    "check": float(g["y_sum"].sum())}))
`

type result struct {
	Read     float64 `json:"read"`
	Describe float64 `json:"describe"`
	GroupBy  float64 `json:"groupby"`
	Rows     int64   `json:"rows"`
	Groups   int64   `json:"groups"`
	Check    float64 `json:"check"`
	Wall     float64 `json:"-"` // whole process, start to exit
	CPU      float64 `json:"-"` // user + system time of the process
	RSSMB    float64 `json:"-"`
	Err      string  `json:"-"`
}

func main() {
	if len(os.Args) > 3 && os.Args[1] == "-child" {
		child(os.Args[2], os.Args[3])
		return
	}
	rows := flag.Int("rows", 10_000_000, "rows to generate")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "ferry-bench-data"), "where the generated files are kept (reused when present)")
	runs := flag.Int("runs", 1, "runs of each case (the median is reported)")
	write := flag.String("write", "/tmp/ferry-bench-data.md", "write the Markdown section here")
	s3 := flag.Bool("s3", true, "also put the Parquet file to a local versitygw (see internal/testsrv) and scan it from s3://")
	skipPandas := flag.Bool("skip-pandas", false, "measure Ferry only")
	flag.Parse()
	ctx := context.Background()

	csvPath, pqPath, err := generate(ctx, *dir, *rows)
	if err != nil {
		fatal(err)
	}
	type bcase struct {
		name, tool, path, format string
	}
	cases := []bcase{
		{"CSV", "ferry-read", csvPath, "csv"},
		{"CSV", "ferry-scan", csvPath, "csv"},
		{"CSV", "pandas", csvPath, "csv"},
		{"Parquet", "ferry-read", pqPath, "parquet"},
		{"Parquet", "ferry-scan", pqPath, "parquet"},
		{"Parquet", "pandas", pqPath, "parquet"},
	}
	var env []string
	if *s3 {
		gw, err := startVersityGW(ctx, *dir)
		if err != nil {
			fatal(err)
		}
		defer gw.stop()
		env = gw.env
		url, err := gw.put(ctx, pqPath)
		if err != nil {
			fatal(err)
		}
		cases = append(cases, bcase{"Parquet from S3", "ferry-scan", url, "parquet"})
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	results := map[string][]result{}
	for r := 0; r < *runs; r++ {
		for _, c := range cases {
			if c.tool == "pandas" && *skipPandas {
				continue
			}
			key := c.name + "/" + c.tool
			res := runCase(c.tool, c.path, c.format, env)
			fmt.Fprintf(os.Stderr, "%-26s run %d: wall %.2f s, CPU %.2f s, peak RSS %.0f MB %s\n", key, r+1, res.Wall, res.CPU, res.RSSMB, res.Err)
			results[key] = append(results[key], res)
		}
	}
	md := report(*rows, results, []string{"CSV", "Parquet", "Parquet from S3"}, load)
	fmt.Print(md)
	if *write != "" {
		if err := os.WriteFile(*write, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench/data:", err)
	os.Exit(1)
}

// generate writes the table as CSV and Parquet unless present.
func generate(ctx context.Context, dir string, rows int) (csvPath, pqPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	csvPath = filepath.Join(dir, fmt.Sprintf("bench-%d.csv", rows))
	pqPath = filepath.Join(dir, fmt.Sprintf("bench-%d.parquet", rows))
	_, e1 := os.Stat(csvPath)
	_, e2 := os.Stat(pqPath)
	if e1 == nil && e2 == nil {
		return csvPath, pqPath, nil
	}
	db, err := data.Open(ctx, data.Options{})
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	start := time.Now()
	// Deterministic pseudo-random values from hash(): ints, floats,
	// 1000 category strings, timestamps over a year.
	if err := db.Exec(ctx, fmt.Sprintf(`CREATE TABLE gen AS SELECT
		range AS id,
		(hash(range) %% 1000000)::INTEGER AS k,
		(hash(range, 1) %% 1000000) / 1000.0 AS x,
		((hash(range, 2) %% 2000001)::DOUBLE - 1000000) / 7.0 AS y,
		'cat_' || (hash(range, 3) %% 1000)::VARCHAR AS s,
		TIMESTAMP '2025-01-01' + to_seconds((hash(range, 4) %% 31536000)::BIGINT) AS ts
		FROM range(%d)`, rows)); err != nil {
		return "", "", err
	}
	for _, w := range []struct{ path, opts string }{{csvPath, "FORMAT csv, HEADER true"}, {pqPath, "FORMAT parquet, COMPRESSION zstd"}} {
		tmp := w.path + ".tmp"
		if err := db.Exec(ctx, fmt.Sprintf("COPY gen TO '%s' (%s)", tmp, w.opts)); err != nil {
			return "", "", err
		}
		if err := os.Rename(tmp, w.path); err != nil {
			return "", "", err
		}
	}
	fmt.Fprintf(os.Stderr, "generated %d rows in %s: %s, %s\n", rows, time.Since(start).Round(time.Millisecond), csvPath, pqPath)
	return csvPath, pqPath, nil
}

// runCase runs one case in a fresh process and measures it.
func runCase(tool, path, format string, env []string) result {
	var cmd *exec.Cmd
	if tool == "pandas" {
		cmd = exec.Command("/usr/bin/python3", "-c", pandasScript, path, format)
	} else {
		self, err := os.Executable()
		if err != nil {
			return result{Err: err.Error()}
		}
		cache, err := os.MkdirTemp("", "ferry-bench-cache-")
		if err != nil {
			return result{Err: err.Error()}
		}
		defer os.RemoveAll(cache)
		cmd = exec.Command(self, "-child", tool, path)
		cmd.Env = append(append(os.Environ(), env...), "XDG_CACHE_HOME="+cache)
	}
	var out, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	var res result
	if err != nil {
		res.Err = fmt.Sprintf("(failed: %v: %s)", err, lastLine(stderr.String()))
	} else if err := json.Unmarshal([]byte(lastLine(out.String())), &res); err != nil {
		res.Err = fmt.Sprintf("(bad output %q: %v)", out.String(), err)
	}
	res.Wall = wall
	res.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.RSSMB = float64(ru.Maxrss) / 1024
	}
	return res
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// child runs the Ferry side: Read, Describe, a group-by query.
func child(tool, path string) {
	ctx := context.Background()
	t0 := time.Now()
	db, err := data.Default()
	if err != nil {
		fatal(err)
	}
	var t *data.Table
	if tool == "ferry-scan" {
		t, err = db.Scan(ctx, path)
	} else {
		t, err = db.Read(ctx, path)
	}
	if err != nil {
		fatal(err)
	}
	t1 := time.Now()
	if _, err := t.DescribeContext(ctx); err != nil {
		fatal(err)
	}
	t2 := time.Now()
	g, err := data.QueryContext(ctx, fmt.Sprintf(groupBy, `"`+t.Name()+`"`))
	if err != nil {
		fatal(err)
	}
	t3 := time.Now()
	ys, err := g.Float64s("y_sum")
	if err != nil {
		fatal(err)
	}
	var check float64
	for _, y := range ys {
		check += y
	}
	b, _ := json.Marshal(result{Read: t1.Sub(t0).Seconds(), Describe: t2.Sub(t1).Seconds(), GroupBy: t3.Sub(t2).Seconds(),
		Rows: t.NumRows(), Groups: g.NumRows(), Check: check})
	fmt.Println(string(b))
}

func median(rs []result, f func(result) float64) float64 {
	var v []float64
	for _, r := range rs {
		if r.Err == "" {
			v = append(v, f(r))
		}
	}
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func report(rows int, results map[string][]result, names []string, loadavg string) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "## Data exploration: %d rows, read + describe + group-by\n\n", rows)
	fmt.Fprintf(&b, "%s, %s, %d CPUs, host %s. Each case in a fresh process (median of the runs); wall is the whole process (start to exit), CPU its user + system time (less sensitive than wall to other load on the machine), peak RSS from wait4; load average at the start: %s. Columns: id BIGINT, k INTEGER, x DOUBLE, y DOUBLE, s VARCHAR (1000 categories), ts TIMESTAMP. Ferry: ferry-read = `DB.Read` (loads into DuckDB), ferry-scan = `DB.Scan` (a view over the file; s3:// is fetched into the local cache first), then `Describe` (count, nulls, mean, std, min, quartiles, max, approximate distinct; approximate quartiles above 1M rows), `GROUP BY s` (count, avg, sum, max). pandas 1.5.3: `read_csv(parse_dates=[\"ts\"])`, `describe(include=\"all\")`, `groupby(\"s\").agg(...)`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), host, loadavg)
	b.WriteString("| input | tool | read s | describe s | group-by s | wall s | CPU s | peak RSS MB | check |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, n := range names {
		for _, tool := range []string{"ferry-read", "ferry-scan", "pandas"} {
			rs, ok := results[n+"/"+tool]
			if !ok {
				continue
			}
			errs := ""
			for _, r := range rs {
				if r.Err != "" {
					errs = r.Err
				}
			}
			if median(rs, func(r result) float64 { return r.Wall }) == 0 || len(rs) == 0 || rs[0].Err != "" && len(rs) == 1 {
				fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | – | %s |\n", n, tool, strings.ReplaceAll(errs, "|", "/"))
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %d rows, %d groups, Σy %.6g |\n", n, tool,
				median(rs, func(r result) float64 { return r.Read }),
				median(rs, func(r result) float64 { return r.Describe }),
				median(rs, func(r result) float64 { return r.GroupBy }),
				median(rs, func(r result) float64 { return r.Wall }),
				median(rs, func(r result) float64 { return r.CPU }),
				median(rs, func(r result) float64 { return r.RSSMB }),
				rs[0].Rows, rs[0].Groups, rs[0].Check)
		}
	}
	wall := func(k string) float64 { return median(results[k], func(r result) float64 { return r.Wall }) }
	mem := func(k string) float64 { return median(results[k], func(r result) float64 { return r.RSSMB }) }
	if pw, pm := wall("CSV/pandas"), mem("CSV/pandas"); pw > 0 {
		b.WriteString("\n")
		for _, tool := range []string{"ferry-read", "ferry-scan"} {
			if fw, fm := wall("CSV/"+tool), mem("CSV/"+tool); fw > 0 {
				fmt.Fprintf(&b, "CSV, %s: %.1f× faster than pandas (goal ≥ 5×) with %.0f%% of its peak memory (goal ≤ 50%%).\n", tool, pw/fw, 100*fm/pm)
			}
		}
	}
	if rs, ok := results["Parquet from S3/ferry-scan"]; ok {
		fmt.Fprintf(&b, "Parquet from S3: fetch + group-by %.2f s (goal ≤ 2 s); with describe %.2f s.\n",
			median(rs, func(r result) float64 { return r.Read + r.GroupBy }),
			median(rs, func(r result) float64 { return r.Read + r.Describe + r.GroupBy }))
	}
	b.WriteString("\npandas reads Parquet only with pyarrow or fastparquet, which Debian bookworm does not package: its Parquet row fails unless one is installed.\n")
	return b.String()
}
