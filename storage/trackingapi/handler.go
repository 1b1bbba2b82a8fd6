package trackingapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/storage"
)

// StoreOpener opens the object store rooted at a URL (file:// or s3://),
// where a run's artifacts live (its ArtifactURI).
type StoreOpener func(ctx context.Context, rawURL string) (storage.ObjectStore, error)

// Handler serves the tracking API. Mount it with the API prefix stripped
// (e.g. http.StripPrefix("/api/ferry/v1", h)); it does no authentication of
// its own.
type Handler struct {
	tr        storage.Tracker
	openStore StoreOpener
	log       *slog.Logger
	mux       *controlplane.Mux
	roots     []string // artifact roots, without trailing slashes
}

// NewHandler returns a Handler over tr; openStore serves the artifact
// routes (nil: they answer 501). Experiments created through it keep their
// artifacts under tr's artifact root (when tr has an ArtifactRoot method,
// as the SQL trackers) or under those of AllowArtifactRoots: a client
// cannot make the server write anywhere else.
func NewHandler(tr storage.Tracker, openStore StoreOpener, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{tr: tr, openStore: openStore, log: log}
	if ar, ok := tr.(artifactRooter); ok {
		h.AllowArtifactRoots(ar.ArtifactRoot())
	}
	h.mux = controlplane.NewMux("tracking API", log, map[string]controlplane.Route{
		"GET /experiments":                   h.listExperiments,
		"POST /experiments":                  h.createExperiment,
		"GET /experiments/{id}":              h.getExperiment,
		"GET /experiments/by-name/{name}":    h.getExperimentByName,
		"DELETE /experiments/{id}":           h.deleteExperiment,
		"POST /experiments/{id}/restore":     h.restoreExperiment,
		"POST /experiments/{id}/tags":        h.setExperimentTag,
		"POST /runs":                         h.createRun,
		"GET /runs/{id}":                     h.getRun,
		"PATCH /runs/{id}":                   h.updateRun,
		"DELETE /runs/{id}":                  h.deleteRun,
		"POST /runs/{id}/restore":            h.restoreRun,
		"POST /runs/{id}/log":                h.logBatch,
		"POST /runs/{id}/inputs":             h.logInputs,
		"POST /runs/search":                  h.searchRuns,
		"POST /metrics/history":              h.metricHistory,
		"PUT /runs/{id}/artifacts/{path...}": h.putArtifact,
		"GET /runs/{id}/artifacts/{path...}": h.getArtifact,
		"GET /runs/{id}/artifacts":           h.listArtifacts,
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Service is h as a service of the control plane: it owns the paths under
// experiments, runs and metrics.
func (h *Handler) Service() controlplane.Service {
	return controlplane.Service{Name: "tracking API", Prefixes: []string{"experiments", "runs", "metrics"}, Handler: h}
}

// StatusOf maps a storage error code to an HTTP status.
func StatusOf(code ferry.Code) int { return controlplane.StatusOf(code) }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	return controlplane.WriteJSON(w, status, v)
}

// maxBody bounds JSON request bodies (a log batch of many metrics fits).
const maxBody = 64 << 20

func readJSON(r *http.Request, v any) error { return controlplane.ReadJSON(r, v, maxBody) }

func (h *Handler) listExperiments(w http.ResponseWriter, r *http.Request) error {
	view, err := parseView(r.URL.Query().Get("view"))
	if err != nil {
		return err
	}
	exps, err := h.tr.ListExperiments(r.Context(), view)
	if err != nil {
		return err
	}
	out := make([]experimentJSON, 0, len(exps))
	for _, e := range exps {
		out = append(out, fromExperiment(e))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"experiments": out})
}

func (h *Handler) createExperiment(w http.ResponseWriter, r *http.Request) error {
	var req createExperimentJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := h.checkArtifactLocation(req.ArtifactLocation); err != nil {
		return err
	}
	e, err := h.tr.CreateExperiment(r.Context(), req.Name, req.ArtifactLocation, req.Tags)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, fromExperiment(e))
}

func (h *Handler) getExperiment(w http.ResponseWriter, r *http.Request) error {
	e, err := h.tr.GetExperiment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fromExperiment(e))
}

func (h *Handler) getExperimentByName(w http.ResponseWriter, r *http.Request) error {
	e, err := h.tr.GetExperimentByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fromExperiment(e))
}

func (h *Handler) deleteExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := h.tr.DeleteExperiment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) restoreExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := h.tr.RestoreExperiment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setExperimentTag(w http.ResponseWriter, r *http.Request) error {
	var t kvJSON
	if err := readJSON(r, &t); err != nil {
		return err
	}
	if err := h.tr.SetExperimentTag(r.Context(), r.PathValue("id"), storage.Tag(t)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) createRun(w http.ResponseWriter, r *http.Request) error {
	var req runSpecJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	spec := storage.RunSpec{ExperimentID: req.ExperimentID, Name: req.Name, ParentRunID: req.ParentRunID,
		SourceNotebook: req.SourceNotebook, Tags: req.Tags, Status: storage.RunStatus(req.Status)}
	if req.StartTime != nil {
		spec.StartTime = *req.StartTime
	}
	run, err := h.tr.CreateRun(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, fromRun(run))
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := h.tr.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fromRun(run))
}

func (h *Handler) updateRun(w http.ResponseWriter, r *http.Request) error {
	var req runUpdateJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u := storage.RunUpdate{Status: storage.RunStatus(req.Status), Name: req.Name}
	if req.EndTime != nil {
		u.EndTime = *req.EndTime
	}
	run, err := h.tr.UpdateRun(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fromRun(run))
}

func (h *Handler) deleteRun(w http.ResponseWriter, r *http.Request) error {
	if err := h.tr.DeleteRun(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) restoreRun(w http.ResponseWriter, r *http.Request) error {
	if err := h.tr.RestoreRun(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) logBatch(w http.ResponseWriter, r *http.Request) error {
	var req logBatchJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ms := make([]storage.Metric, len(req.Metrics))
	for i, m := range req.Metrics {
		ms[i] = storage.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: m.Timestamp, Step: m.Step}
	}
	ps := make([]storage.Param, len(req.Params))
	for i, p := range req.Params {
		ps[i] = storage.Param(p)
	}
	ts := make([]storage.Tag, len(req.Tags))
	for i, t := range req.Tags {
		ts[i] = storage.Tag(t)
	}
	if err := h.tr.LogBatch(r.Context(), r.PathValue("id"), ms, ps, ts); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) logInputs(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Inputs []inputJSON `json:"inputs"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ins := make([]storage.DatasetInput, len(req.Inputs))
	for i, in := range req.Inputs {
		ins[i] = storage.DatasetInput(in)
	}
	if err := h.tr.LogInputs(r.Context(), r.PathValue("id"), ins); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) searchRuns(w http.ResponseWriter, r *http.Request) error {
	var req searchJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	view, err := parseView(req.View)
	if err != nil {
		return err
	}
	runs, next, err := h.tr.SearchRuns(r.Context(), storage.SearchRunsRequest{ExperimentIDs: req.ExperimentIDs,
		Filter: req.Filter, OrderBy: req.OrderBy, MaxResults: req.MaxResults, PageToken: req.PageToken, ViewType: view})
	if err != nil {
		return err
	}
	out := searchResultJSON{Runs: make([]runJSON, 0, len(runs)), NextPageToken: next}
	for _, run := range runs {
		out.Runs = append(out.Runs, fromRun(run))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) metricHistory(w http.ResponseWriter, r *http.Request) error {
	var req historyRequestJSON
	if err := readJSON(r, &req); err != nil {
		return err
	}
	series, err := h.tr.MetricHistory(r.Context(), req.RunIDs, req.Keys)
	if err != nil {
		return err
	}
	out := make([]seriesJSON, len(series))
	for i, s := range series {
		s.Points = storage.Downsample(s.Points, req.MaxPoints)
		out[i] = fromSeries(s)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"series": out})
}

// runStore opens the object store of run id's artifacts.
func (h *Handler) runStore(ctx context.Context, id string) (storage.ObjectStore, error) {
	if h.openStore == nil {
		return nil, ferry.Errorf(ferry.NotSupported, "this server keeps no artifacts (no object store configured)")
	}
	run, err := h.tr.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	// Experiments created before artifact roots were enforced (or by a
	// client of the database itself) may name any location.
	if len(h.roots) > 0 && !h.allowed(run.ArtifactURI) {
		return nil, ferry.Errorf(ferry.Invalid, "run %s keeps its artifacts at %s, outside the artifact roots this server serves (%s): move them under a root and point the experiment's artifact_location there",
			id, run.ArtifactURI, strings.Join(h.roots, ", "))
	}
	return h.openStore(ctx, run.ArtifactURI)
}

func (h *Handler) putArtifact(w http.ResponseWriter, r *http.Request) error {
	st, err := h.runStore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	o := storage.PutOptions{Size: r.ContentLength, ContentType: r.Header.Get("Content-Type")}
	if o.Size < 0 {
		o.Size = -1
	}
	info, err := st.Put(r.Context(), r.PathValue("path"), r.Body, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toObjectJSON(info))
}

func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request) error {
	st, err := h.runStore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	rc, info, err := st.Get(r.Context(), r.PathValue("path"), storage.GetOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// Artifacts are whatever clients uploaded, with the content type they
	// chose: a browser must not run an HTML or SVG artifact as a page of
	// this origin (it would act as the logged-in user), nor sniff one into
	// such a type. Only types that run no code are shown inline.
	ct, disp := downloadHeaders(r.PathValue("path"), info.ContentType)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", disp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if info.SHA256 != "" {
		w.Header().Set("X-Ferry-Sha256", info.SHA256)
	}
	w.Header().Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("tracking API: artifact download cut", "path", r.URL.Path, "err", err)
	}
	return nil
}

func (h *Handler) listArtifacts(w http.ResponseWriter, r *http.Request) error {
	st, err := h.runStore(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	prefix := r.URL.Query().Get("prefix")
	out := []objectJSON{}
	token := ""
	for {
		page, err := st.List(r.Context(), storage.ListOptions{Prefix: prefix, Token: token})
		if err != nil {
			if ferry.IsNotFound(err) {
				break
			}
			return err
		}
		for _, o := range page.Objects {
			out = append(out, toObjectJSON(o))
		}
		if page.Next == "" || len(out) >= 100000 {
			break
		}
		token = page.Next
	}
	return writeJSON(w, http.StatusOK, map[string]any{"artifacts": out})
}

func toObjectJSON(o storage.ObjectInfo) objectJSON {
	return objectJSON{Path: o.Key, Size: o.Size, ModTime: o.ModTime.UTC().Truncate(time.Millisecond), SHA256: o.SHA256, ContentType: o.ContentType}
}
