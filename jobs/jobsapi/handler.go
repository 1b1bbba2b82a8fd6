package jobsapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs"
)

// Handler serves the jobs API over a jobs.Backend. Mount it with the API
// prefix stripped (e.g. http.StripPrefix("/api/ferry/v1", h)); it does no
// authentication of its own.
type Handler struct {
	b    jobs.Backend
	name string
	log  *slog.Logger
	mux  *controlplane.Mux
}

// NewHandler returns a Handler over b. name names the backend in list
// answers ("local", "kube"), so clients can tell where their jobs run.
func NewHandler(b jobs.Backend, name string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{b: b, name: name, log: log}
	h.mux = controlplane.NewMux("jobs API", log, map[string]controlplane.Route{
		"POST /jobs":               h.submit,
		"GET /jobs":                h.list,
		"GET /jobs/{name}":         h.get,
		"DELETE /jobs/{name}":      h.delete,
		"POST /jobs/{name}/cancel": h.cancel,
		"GET /jobs/{name}/logs":    h.logs,
		"GET /jobs/{name}/watch":   h.watchOne,
	})
	return h
}

// Service is h as a service of the control plane: it owns "/jobs" and
// everything under it.
func (h *Handler) Service() controlplane.Service {
	return controlplane.Service{Name: "jobs API", Prefixes: []string{"jobs"}, Handler: h}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	return controlplane.WriteJSON(w, status, v)
}

// maxBody bounds a submitted spec (its files hold the training script).
const maxBody = 32 << 20

// listJSON is the answer of GET jobs.
type listJSON struct {
	Jobs    []jobs.Job `json:"jobs"`
	Backend string     `json:"backend,omitempty"`
}

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) error {
	var spec jobs.Spec
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		if errors.Is(err, io.EOF) {
			return ferry.Errorf(ferry.Invalid, "POST jobs: the request needs a job spec as JSON ({\"name\", \"kind\", \"replicas\", \"command\", ...})")
		}
		return ferry.Errorf(ferry.Invalid, "POST jobs: bad job spec JSON: %v", err)
	}
	// Validate here too, so every backend answers an invalid spec alike.
	if err := spec.Validate(); err != nil {
		return err
	}
	j, err := h.b.Submit(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, j)
}

// listFilter reads kind, status and label query parameters.
func listFilter(r *http.Request) (jobs.ListOptions, []jobs.ConditionType, error) {
	q := r.URL.Query()
	var o jobs.ListOptions
	if k := q.Get("kind"); k != "" {
		o.Kind = jobs.Kind(strings.ToLower(k))
		if jobs.Roles(o.Kind) == nil {
			return o, nil, ferry.Errorf(ferry.Invalid, "kind=%s: not a training kind: use one of %v", k, jobs.Kinds)
		}
	}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return o, nil, ferry.Errorf(ferry.Invalid, "label=%s: give KEY=VALUE", l)
		}
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	}
	var statuses []jobs.ConditionType
	for _, s := range q["status"] {
		for p := range strings.SplitSeq(s, ",") {
			st, ok := ParseStatus(p)
			if !ok {
				return o, nil, ferry.Errorf(ferry.Invalid, "status=%s: use Created, Running, Restarting, Succeeded or Failed", p)
			}
			statuses = append(statuses, st)
		}
	}
	return o, statuses, nil
}

// ParseStatus returns the condition type named s, ignoring case.
func ParseStatus(s string) (jobs.ConditionType, bool) {
	for _, c := range []jobs.ConditionType{jobs.Created, jobs.Running, jobs.Restarting, jobs.Succeeded, jobs.Failed} {
		if strings.EqualFold(string(c), strings.TrimSpace(s)) {
			return c, true
		}
	}
	return "", false
}

// HasStatus reports whether j's phase is one of statuses (any when empty).
func HasStatus(j *jobs.Job, statuses []jobs.ConditionType) bool {
	if len(statuses) == 0 {
		return true
	}
	phase := j.Status.Phase()
	for _, s := range statuses {
		if s == phase {
			return true
		}
	}
	return false
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	o, statuses, err := listFilter(r)
	if err != nil {
		return err
	}
	if truthy(r.URL.Query().Get("watch")) {
		return h.watch(w, r, "", o, statuses)
	}
	js, err := h.b.List(r.Context(), o)
	if err != nil {
		return err
	}
	out := listJSON{Jobs: []jobs.Job{}, Backend: h.name}
	for i := range js {
		if HasStatus(&js[i], statuses) {
			out.Jobs = append(out.Jobs, js[i])
		}
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return ferry.Errorf(ferry.Invalid, "limit=%s: give a number of jobs, 0 or more (0: all)", s)
		}
		if n > 0 && len(out.Jobs) > n {
			out.Jobs = out.Jobs[len(out.Jobs)-n:] // the newest n
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	j, err := h.b.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := h.b.Cancel(r.Context(), name); err != nil {
		return err
	}
	j, err := h.b.Get(r.Context(), name)
	if ferry.IsNotFound(err) {
		// Backends that cancel by deleting (Kubernetes) keep no record.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

// ParseReplica reads a replica of a job of kind: "Worker-1", "worker-1",
// "Worker" (index 0) or "" (the primary replica).
func ParseReplica(kind jobs.Kind, s string) (jobs.ReplicaType, int, error) {
	if s == "" {
		return "", 0, nil
	}
	role, idx := s, 0
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 {
			return "", 0, ferry.Errorf(ferry.Invalid, "replica %q: give ROLE-INDEX, e.g. %s-0", s, firstRole(kind))
		}
		role, idx = s[:i], n
	}
	t, ok := jobs.ParseReplicaType(kind, role)
	if !ok {
		return "", 0, ferry.Errorf(ferry.Invalid, "replica %q: a %s job has the roles %v: give ROLE-INDEX, e.g. %s-0", s, kind, jobs.Roles(kind), firstRole(kind))
	}
	return t, idx, nil
}

func firstRole(kind jobs.Kind) jobs.ReplicaType {
	if rs := jobs.Roles(kind); len(rs) > 0 {
		return rs[len(rs)-1]
	}
	return jobs.Worker
}

func (h *Handler) logs(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	q := r.URL.Query()
	j, err := h.b.Get(r.Context(), name)
	if err != nil {
		return err
	}
	var opts jobs.LogOptions
	if opts.Replica, opts.Index, err = ParseReplica(j.Spec.Kind, q.Get("replica")); err != nil {
		return err
	}
	if s := q.Get("index"); s != "" {
		if opts.Index, err = strconv.Atoi(s); err != nil || opts.Index < 0 {
			return ferry.Errorf(ferry.Invalid, "index=%s: give a replica index, 0 or more", s)
		}
	}
	opts.Follow = truthy(q.Get("follow"))
	if s := q.Get("tail"); s != "" {
		if opts.TailLines, err = strconv.Atoi(s); err != nil || opts.TailLines < 0 {
			return ferry.Errorf(ferry.Invalid, "tail=%s: give a number of lines, 0 or more (0: the whole log)", s)
		}
	}
	rc, err := h.b.Logs(r.Context(), name, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc2 := http.NewResponseController(w)
	_ = rc2.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the client went away
			}
			if opts.Follow {
				_ = rc2.Flush()
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && r.Context().Err() == nil {
				h.log.Warn("jobs API: reading log", "job", name, "err", err)
			}
			return nil
		}
	}
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

func (h *Handler) watchOne(w http.ResponseWriter, r *http.Request) error {
	return h.watch(w, r, r.PathValue("name"), jobs.ListOptions{}, nil)
}

// watch streams the backend's events as JSON lines or server-sent events.
// Events of jobs that fail the filter are left out.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request, name string, o jobs.ListOptions, statuses []jobs.ConditionType) error {
	ch, err := h.b.Watch(r.Context(), name)
	if err != nil {
		return err
	}
	return controlplane.Stream(w, r, ch, func(ev jobs.Event) (string, bool) {
		return string(ev.Type), o.Matches(&ev.Job) && (ev.Type == jobs.Deleted || HasStatus(&ev.Job, statuses))
	})
}
