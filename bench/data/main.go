//go:build duckdb_arrow

// Command data benchmarks inline data exploration: read + describe +
// group-by aggregate of a generated table (ints, floats, strings,
// timestamps) as CSV and as Parquet, through Ferry's storage/data (DuckDB)
// and through pandas (Debian's python3-pandas, run with /usr/bin/python3),
// each in a fresh process, in the same run: wall and CPU time per phase,
// CPU time and peak RSS of the process. Both sides report their
// describe's figures under pandas' names, and the report says whether
// Ferry's agree with pandas' (see compareDescribe), next to the group-by's
// row count, group count and sum.
//
//	go run -tags duckdb_arrow ./bench/data [-rows 10000000] [-runs 5]
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
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
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
t0, c0 = time.perf_counter(), time.process_time()
if fmt == "csv":
    df = pd.read_csv(path, parse_dates=["ts"])
else:
    df = pd.read_parquet(path)
t1, c1 = time.perf_counter(), time.process_time()
d = df.describe(include="all", datetime_is_numeric=True)
t2, c2 = time.perf_counter(), time.process_time()
g = df.groupby("s").agg(n=("x", "size"), x_mean=("x", "mean"), y_sum=("y", "sum"), ts_max=("ts", "max")).sort_index()
t3, c3 = time.perf_counter(), time.process_time()
desc = {}
for col in d.columns:
    for stat, v in d[col].items():
        if pd.isna(v):
            continue
        if stat == "top":
            desc[col + ".top"] = str(v)
        elif isinstance(v, pd.Timestamp):
            desc[col + "." + stat] = v.value / 1e9
        else:
            desc[col + "." + stat] = float(v)
print(json.dumps({"read": t1-t0, "describe": t2-t1, "groupby": t3-t2,
    "read_cpu": c1-c0, "describe_cpu": c2-c1, "groupby_cpu": c3-c2, "rows": len(df), "groups": len(g),
    "check": float(g["y_sum"].sum()), "desc": desc}))
`

type result struct {
	Read     float64 `json:"read"`
	Describe float64 `json:"describe"`
	GroupBy  float64 `json:"groupby"`
	Rows     int64   `json:"rows"`
	Groups   int64   `json:"groups"`
	Check    float64 `json:"check"`
	// CPU time (user + system, all threads) of each phase.
	ReadCPU     float64 `json:"read_cpu"`
	DescribeCPU float64 `json:"describe_cpu"`
	GroupByCPU  float64 `json:"groupby_cpu"`
	// Desc holds describe's figures as pandas names them ("x.mean",
	// "x.25%", "s.unique", "s.top", "ts.mean" in seconds since the epoch).
	Desc  map[string]any `json:"desc"`
	Wall  float64        `json:"-"` // whole process, start to exit
	CPU   float64        `json:"-"` // user + system time of the process
	RSSMB float64        `json:"-"`
	Err   string         `json:"-"`
}

func main() {
	if len(os.Args) > 3 && os.Args[1] == "-child" {
		child(os.Args[2], os.Args[3])
		return
	}
	rows := flag.Int("rows", 10_000_000, "rows to generate")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "ferry-bench-data"), "where the generated files are kept (reused when present)")
	runs := flag.Int("runs", 5, "runs of each case, interleaved (the median is reported)")
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
	load := loadAvg()
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
	t0, c0 := time.Now(), cpuSelf()
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
	t1, c1 := time.Now(), cpuSelf()
	sum, err := t.DescribeContext(ctx)
	if err != nil {
		fatal(err)
	}
	t2, c2 := time.Now(), cpuSelf()
	g, err := data.QueryContext(ctx, fmt.Sprintf(groupBy, `"`+t.Name()+`"`))
	if err != nil {
		fatal(err)
	}
	t3, c3 := time.Now(), cpuSelf()
	ys, err := g.Float64s("y_sum")
	if err != nil {
		fatal(err)
	}
	var check float64
	for _, y := range ys {
		check += y
	}
	b, _ := json.Marshal(result{Read: t1.Sub(t0).Seconds(), Describe: t2.Sub(t1).Seconds(), GroupBy: t3.Sub(t2).Seconds(),
		ReadCPU: c1 - c0, DescribeCPU: c2 - c1, GroupByCPU: c3 - c2,
		Rows: t.NumRows(), Groups: g.NumRows(), Check: check, Desc: pandasNames(sum)})
	fmt.Println(string(b))
}

// cpuSelf returns the user + system time of this process so far.
func cpuSelf() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// pandasNames returns a summary's figures under the names the pandas
// script gives its describe's (times in seconds since the epoch).
func pandasNames(s *data.Summary) map[string]any {
	out := map[string]any{}
	secs := func(t *time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
	for _, c := range s.Columns {
		out[c.Column+".count"] = float64(c.Count)
		switch {
		case c.Mean != nil:
			out[c.Column+".mean"], out[c.Column+".std"] = *c.Mean, *c.Std
			for name, v := range map[string]string{"min": c.Min, "max": c.Max} {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					out[c.Column+"."+name] = f
				}
			}
			if c.Q25 != nil {
				out[c.Column+".25%"], out[c.Column+".50%"], out[c.Column+".75%"] = *c.Q25, *c.Q50, *c.Q75
			}
		case c.MeanTime != nil:
			out[c.Column+".mean"] = secs(c.MeanTime)
			for name, v := range map[string]string{"min": c.Min, "max": c.Max} {
				if tm, err := time.Parse("2006-01-02 15:04:05", v); err == nil {
					out[c.Column+"."+name] = secs(&tm)
				}
			}
			if c.Q25Time != nil {
				out[c.Column+".25%"], out[c.Column+".50%"], out[c.Column+".75%"] = secs(c.Q25Time), secs(c.Q50Time), secs(c.Q75Time)
			}
		case c.Freq > 0:
			out[c.Column+".unique"], out[c.Column+".top"], out[c.Column+".freq"] = float64(c.Distinct), c.Top, float64(c.Freq)
		}
	}
	return out
}

// compareDescribe checks Ferry's describe against pandas': every figure
// pandas gives must be there and agree. Counts, distinct counts, top
// values and frequencies exactly; means, standard deviations, minima and
// maxima to 1e-9 of the column's range (summation order differs); times to
// a millisecond; quartiles to 1% of the range, since Ferry estimates them
// from a sample above data.ExactQuantileRows rows. It returns "" or what
// differs.
func compareDescribe(ferry, pandas map[string]any) string {
	var bad []string
	keys := make([]string, 0, len(pandas))
	for k := range pandas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := pandas[k]
		got, ok := ferry[k]
		if !ok {
			bad = append(bad, k+" missing")
			continue
		}
		col, stat, _ := strings.Cut(k, ".")
		ws, isStr := want.(string)
		if isStr {
			if got != ws {
				bad = append(bad, fmt.Sprintf("%s %v, pandas %v", k, got, ws))
			}
			continue
		}
		w, _ := want.(float64)
		g, _ := got.(float64)
		lo, _ := pandas[col+".min"].(float64)
		hi, _ := pandas[col+".max"].(float64)
		scale := hi - lo
		var tol float64
		switch stat {
		case "count", "unique", "freq":
			tol = 0
		case "25%", "50%", "75%":
			tol = 0.01 * scale
		default:
			tol = 1e-9 * scale
			if _, isTime := pandas[col+".std"]; !isTime && stat == "mean" {
				tol = max(tol, 1e-3) // seconds: pandas' mean of times is in nanoseconds
			}
		}
		if math.Abs(g-w) > tol {
			bad = append(bad, fmt.Sprintf("%s %.10g, pandas %.10g", k, g, w))
		}
	}
	return strings.Join(bad, "; ")
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
	fmt.Fprintf(&b, "%s, %s, %d CPUs, host %s. Each case in a fresh process, cases interleaved, median of %d runs; wall is the whole process (start to exit), CPU its user + system time (less sensitive than wall to other load on the machine), peak RSS from wait4; load average at the start: %s, at the end: %s. Columns: id BIGINT, k INTEGER, x DOUBLE, y DOUBLE, s VARCHAR (1000 categories), ts TIMESTAMP. Ferry: ferry-read = `DB.Read` (loads into DuckDB), ferry-scan = `DB.Scan` (a view over the file; s3:// is fetched into the local cache first), then `Describe` (what pandas' describe gives: count, mean, std, min, quartiles, max of numbers; count, mean, min, quartiles, max of times; count, unique, top, freq of strings; plus nulls; above 1M rows the quartiles are exact quartiles of a sample of about 100,000 rows: rows whose rowid hashes to 0 modulo rows/100,000 for ferry-read, a reservoir sample for a Parquet scan, t-digest estimates for a CSV scan), `GROUP BY s` (count, avg, sum, max). pandas 1.5.3: `read_csv(parse_dates=[\"ts\"])`, `describe(include=\"all\", datetime_is_numeric=True)`, `groupby(\"s\").agg(...)`. The check column holds rows, groups and Σy of the group-by, and whether Ferry's describe agrees with pandas' on the CSV (counts, unique, top, freq exactly; mean, std, min, max to 1e-9 of the range; quartiles to 1%% of the range).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), host, maxRuns(results), loadavg, loadAvg())
	b.WriteString("| input | tool | read s | describe s | group-by s | wall s | CPU s | peak RSS MB | check |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	med := func(rs []result, f func(result) float64) float64 { return median(rs, f) }
	pandasDesc := firstDesc(results["CSV/pandas"])
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
			if med(rs, func(r result) float64 { return r.Wall }) == 0 || len(rs) == 0 || rs[0].Err != "" && len(rs) == 1 {
				fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | – | %s |\n", n, tool, strings.ReplaceAll(errs, "|", "/"))
				continue
			}
			check := fmt.Sprintf("%d rows, %d groups, Σy %.6g", rs[0].Rows, rs[0].Groups, rs[0].Check)
			if tool != "pandas" && pandasDesc != nil {
				if diff := compareDescribe(firstDesc(rs), pandasDesc); diff != "" {
					check += ", describe differs: " + strings.ReplaceAll(diff, "|", "/")
				} else {
					check += ", describe = pandas"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %s |\n", n, tool,
				med(rs, func(r result) float64 { return r.Read }),
				med(rs, func(r result) float64 { return r.Describe }),
				med(rs, func(r result) float64 { return r.GroupBy }),
				med(rs, func(r result) float64 { return r.Wall }),
				med(rs, func(r result) float64 { return r.CPU }),
				med(rs, func(r result) float64 { return r.RSSMB }),
				check)
		}
	}
	b.WriteString("\nCPU s per phase (user + system, all threads; median):\n\n| input | tool | read | describe | group-by |\n|---|---|---:|---:|---:|\n")
	for _, n := range names {
		for _, tool := range []string{"ferry-read", "ferry-scan", "pandas"} {
			rs, ok := results[n+"/"+tool]
			if !ok || med(rs, func(r result) float64 { return r.Wall }) == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.2f |\n", n, tool,
				med(rs, func(r result) float64 { return r.ReadCPU }),
				med(rs, func(r result) float64 { return r.DescribeCPU }),
				med(rs, func(r result) float64 { return r.GroupByCPU }))
		}
	}
	wall := func(k string) float64 { return med(results[k], func(r result) float64 { return r.Wall }) }
	cpu := func(k string) float64 { return med(results[k], func(r result) float64 { return r.CPU }) }
	mem := func(k string) float64 { return med(results[k], func(r result) float64 { return r.RSSMB }) }
	mark := func(ok bool) string {
		if ok {
			return "✅"
		}
		return "❌"
	}
	if pw, pm := wall("CSV/pandas"), mem("CSV/pandas"); pw > 0 {
		b.WriteString("\n")
		for _, tool := range []string{"ferry-read", "ferry-scan"} {
			if fw, fm := wall("CSV/"+tool), mem("CSV/"+tool); fw > 0 {
				speed, memShare := pw/fw, 100*fm/pm
				fmt.Fprintf(&b, "- CSV, %s: %s %.1f× faster than pandas in wall time (goal ≥ 5×; %.1f× in CPU time) %s with %.0f%% of its peak memory (goal ≤ 50%%).\n",
					tool, mark(speed >= 5), speed, cpu("CSV/pandas")/cpu("CSV/"+tool), mark(memShare <= 50), memShare)
			}
		}
	}
	if rs, ok := results["Parquet from S3/ferry-scan"]; ok {
		v := med(rs, func(r result) float64 { return r.Read + r.GroupBy })
		fmt.Fprintf(&b, "- Parquet from S3: %s fetch + group-by %.2f s (goal ≤ 2 s); with describe %.2f s.\n", mark(v > 0 && v <= 2),
			v, med(rs, func(r result) float64 { return r.Read + r.Describe + r.GroupBy }))
	}
	b.WriteString("\npandas reads Parquet only with pyarrow or fastparquet, which Debian bookworm does not package: its Parquet row fails unless one is installed.\n")
	return b.String()
}

func firstDesc(rs []result) map[string]any {
	for _, r := range rs {
		if r.Err == "" && r.Desc != nil {
			return r.Desc
		}
	}
	return nil
}

func maxRuns(results map[string][]result) int {
	n := 0
	for _, rs := range results {
		n = max(n, len(rs))
	}
	return n
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
