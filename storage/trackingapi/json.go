package trackingapi

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

type experimentJSON struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"`
	LifecycleStage   string            `json:"lifecycle_stage"`
	Tags             map[string]string `json:"tags"`
	CreationTime     time.Time         `json:"creation_time"`
	LastUpdateTime   time.Time         `json:"last_update_time"`
}

func fromExperiment(e storage.Experiment) experimentJSON {
	return experimentJSON{e.ID, e.Name, e.ArtifactLocation, string(e.LifecycleStage), nonNil(e.Tags), e.CreationTime, e.LastUpdateTime}
}

func (j experimentJSON) experiment() storage.Experiment {
	return storage.Experiment{ID: j.ID, Name: j.Name, ArtifactLocation: j.ArtifactLocation,
		LifecycleStage: storage.LifecycleStage(j.LifecycleStage), Tags: j.Tags, CreationTime: j.CreationTime, LastUpdateTime: j.LastUpdateTime}
}

type createExperimentJSON struct {
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

type metricJSON struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp int64     `json:"timestamp"`
	Step      int64     `json:"step"`
}

type kvJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type inputJSON struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type,omitempty"`
	Source     string `json:"source,omitempty"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
	Context    string `json:"context,omitempty"`
}

type runJSON struct {
	ID             string                `json:"id"`
	ExperimentID   string                `json:"experiment_id"`
	Name           string                `json:"name"`
	Status         string                `json:"status"`
	StartTime      time.Time             `json:"start_time"`
	EndTime        *time.Time            `json:"end_time,omitempty"`
	ParentRunID    string                `json:"parent_run_id,omitempty"`
	SourceNotebook string                `json:"source_notebook,omitempty"`
	ArtifactURI    string                `json:"artifact_uri"`
	LifecycleStage string                `json:"lifecycle_stage"`
	Metrics        map[string]metricJSON `json:"metrics"`
	Params         map[string]string     `json:"params"`
	Tags           map[string]string     `json:"tags"`
	Inputs         []inputJSON           `json:"inputs"`
}

func fromRun(r storage.Run) runJSON {
	j := runJSON{ID: r.ID, ExperimentID: r.ExperimentID, Name: r.Name, Status: string(r.Status), StartTime: r.StartTime,
		ParentRunID: r.ParentRunID, SourceNotebook: r.SourceNotebook, ArtifactURI: r.ArtifactURI,
		LifecycleStage: string(r.LifecycleStage), Metrics: map[string]metricJSON{}, Params: nonNil(r.Params), Tags: nonNil(r.Tags),
		Inputs: []inputJSON{}}
	if !r.EndTime.IsZero() {
		t := r.EndTime
		j.EndTime = &t
	}
	for k, m := range r.Metrics {
		j.Metrics[k] = metricJSON{m.Key, jsonFloat(m.Value), m.Timestamp, m.Step}
	}
	for _, in := range r.Inputs {
		j.Inputs = append(j.Inputs, inputJSON(in))
	}
	return j
}

func (j runJSON) run() storage.Run {
	r := storage.Run{ID: j.ID, ExperimentID: j.ExperimentID, Name: j.Name, Status: storage.RunStatus(j.Status), StartTime: j.StartTime,
		ParentRunID: j.ParentRunID, SourceNotebook: j.SourceNotebook, ArtifactURI: j.ArtifactURI,
		LifecycleStage: storage.LifecycleStage(j.LifecycleStage), Metrics: map[string]storage.Metric{}, Params: nonNil(j.Params), Tags: nonNil(j.Tags)}
	if j.EndTime != nil {
		r.EndTime = *j.EndTime
	}
	for k, m := range j.Metrics {
		r.Metrics[k] = storage.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: m.Timestamp, Step: m.Step}
	}
	for _, in := range j.Inputs {
		r.Inputs = append(r.Inputs, storage.DatasetInput(in))
	}
	return r
}

type runSpecJSON struct {
	ExperimentID   string            `json:"experiment_id"`
	Name           string            `json:"name,omitempty"`
	ParentRunID    string            `json:"parent_run_id,omitempty"`
	SourceNotebook string            `json:"source_notebook,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	StartTime      *time.Time        `json:"start_time,omitempty"`
	Status         string            `json:"status,omitempty"`
}

type runUpdateJSON struct {
	Status  string     `json:"status,omitempty"`
	EndTime *time.Time `json:"end_time,omitempty"`
	Name    string     `json:"name,omitempty"`
}

type logBatchJSON struct {
	Metrics []metricJSON `json:"metrics,omitempty"`
	Params  []kvJSON     `json:"params,omitempty"`
	Tags    []kvJSON     `json:"tags,omitempty"`
}

type searchJSON struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter,omitempty"`
	OrderBy       []string `json:"order_by,omitempty"`
	MaxResults    int      `json:"max_results,omitempty"`
	PageToken     string   `json:"page_token,omitempty"`
	View          string   `json:"view,omitempty"`
}

type searchResultJSON struct {
	Runs          []runJSON `json:"runs"`
	NextPageToken string    `json:"next_page_token"`
}

type historyRequestJSON struct {
	RunIDs    []string `json:"run_ids"`
	Keys      []string `json:"keys,omitempty"`
	MaxPoints int      `json:"max_points,omitempty"`
}

// seriesJSON is a metric history in columns (compact for many points).
type seriesJSON struct {
	RunID      string      `json:"run_id"`
	Key        string      `json:"key"`
	Steps      []int64     `json:"steps"`
	Timestamps []int64     `json:"timestamps"`
	Values     []jsonFloat `json:"values"`
}

func fromSeries(s storage.MetricSeries) seriesJSON {
	j := seriesJSON{RunID: s.RunID, Key: s.Key, Steps: make([]int64, len(s.Points)),
		Timestamps: make([]int64, len(s.Points)), Values: make([]jsonFloat, len(s.Points))}
	for i, p := range s.Points {
		j.Steps[i], j.Timestamps[i], j.Values[i] = p.Step, p.Timestamp, jsonFloat(p.Value)
	}
	return j
}

func (j seriesJSON) series() storage.MetricSeries {
	s := storage.MetricSeries{RunID: j.RunID, Key: j.Key, Points: make([]storage.MetricPoint, len(j.Values))}
	for i := range j.Values {
		p := storage.MetricPoint{Value: float64(j.Values[i])}
		if i < len(j.Steps) {
			p.Step = j.Steps[i]
		}
		if i < len(j.Timestamps) {
			p.Timestamp = j.Timestamps[i]
		}
		s.Points[i] = p
	}
	return s
}

type objectJSON struct {
	Path        string    `json:"path"`
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"mod_time"`
	SHA256      string    `json:"sha256,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
}

func viewName(v storage.ViewType) string {
	switch v {
	case storage.DeletedOnly:
		return "deleted"
	case storage.All:
		return "all"
	}
	return "active"
}

func parseView(s string) (storage.ViewType, error) {
	switch s {
	case "", "active":
		return storage.ActiveOnly, nil
	case "deleted":
		return storage.DeletedOnly, nil
	case "all":
		return storage.All, nil
	}
	return 0, ferry.Errorf(ferry.Invalid, "view %q: use active, deleted or all", s)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// jsonFloat is a float64 that JSON carries also when it is NaN or
// infinite: as the strings "NaN", "Infinity" and "-Infinity".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat(math.NaN())
	case `"Infinity"`:
		*f = jsonFloat(math.Inf(1))
	case `"-Infinity"`:
		*f = jsonFloat(math.Inf(-1))
	default:
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("metric value %s is not a number", b)
		}
		*f = jsonFloat(v)
	}
	return nil
}
