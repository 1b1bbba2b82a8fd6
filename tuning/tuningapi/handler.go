package tuningapi

import (
	"log/slog"
	"net/http"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/tuning"
)

// Handler serves the tuning API over a tuning.Backend. Mount it with the
// API prefix stripped.
type Handler struct {
	b   tuning.Backend
	mux *controlplane.Mux
}

// NewHandler returns a Handler over b.
func NewHandler(b tuning.Backend, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{b: b}
	h.mux = controlplane.NewMux("tuning API", log, map[string]controlplane.Route{
		"POST /studies":                              h.create,
		"GET /studies":                               h.list,
		"GET /studies/{name}":                        h.get,
		"GET /studies/{name}/watch":                  h.watchOne,
		"POST /studies/{name}/stop":                  h.stop,
		"POST /studies/{name}/resume":                h.resume,
		"DELETE /studies/{name}":                     h.delete,
		"POST /studies/{name}/ask":                   h.ask,
		"POST /studies/{name}/trials/{trial}/report": h.report,
	})
	return h
}

// Service is h as a service of the control plane: it owns "/studies".
func (h *Handler) Service() controlplane.Service {
	return controlplane.Service{Name: "tuning API", Prefixes: []string{"studies"}, Handler: h}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// maxBody bounds a spec (a job template holds the training script).
const maxBody = 32 << 20

type listJSON struct {
	Studies []tuning.Study `json:"studies"`
}

type askJSON struct {
	OK    bool          `json:"ok"`
	Trial *tuning.Trial `json:"trial,omitempty"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	var spec tuning.Spec
	if err := controlplane.ReadJSON(r, &spec, maxBody); err != nil {
		return ferry.Errorf(ferry.Invalid, "POST studies: bad study spec JSON (%v): send {\"name\", \"objective\", \"parameters\", \"algorithm\", ...}", err)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	st, err := h.b.Create(r.Context(), spec)
	if err != nil {
		return err
	}
	return controlplane.WriteJSON(w, http.StatusCreated, st)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	if q := r.URL.Query().Get("watch"); q != "" && q != "0" && q != "false" {
		return h.watch(w, r, "")
	}
	sts, err := h.b.List(r.Context())
	if err != nil {
		return err
	}
	if sts == nil {
		sts = []tuning.Study{}
	}
	return controlplane.WriteJSON(w, http.StatusOK, listJSON{Studies: sts})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) error {
	st, err := h.b.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return controlplane.WriteJSON(w, http.StatusOK, st)
}

func (h *Handler) watchOne(w http.ResponseWriter, r *http.Request) error {
	return h.watch(w, r, r.PathValue("name"))
}

func (h *Handler) watch(w http.ResponseWriter, r *http.Request, name string) error {
	ch, err := h.b.Watch(r.Context(), name)
	if err != nil {
		return err
	}
	return controlplane.Stream(w, r, ch, func(ev tuning.Event) (string, bool) { return string(ev.Type), true })
}

func (h *Handler) stop(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := h.b.Stop(r.Context(), name); err != nil {
		return err
	}
	return h.get(w, r)
}

func (h *Handler) resume(w http.ResponseWriter, r *http.Request) error {
	st, err := h.b.Resume(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return controlplane.WriteJSON(w, http.StatusOK, st)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) ask(w http.ResponseWriter, r *http.Request) error {
	t, ok, err := h.b.Ask(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := askJSON{OK: ok}
	if ok {
		out.Trial = &t
	}
	return controlplane.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) error {
	var rep tuning.Report
	if err := controlplane.ReadJSON(r, &rep, 1<<20); err != nil {
		return ferry.Errorf(ferry.Invalid, "report of trial %s: bad JSON (%v): send {\"step\", \"metrics\": {NAME: VALUE}, \"final\"}", r.PathValue("trial"), err)
	}
	d, err := h.b.Tell(r.Context(), r.PathValue("name"), r.PathValue("trial"), rep)
	if err != nil {
		return err
	}
	return controlplane.WriteJSON(w, http.StatusOK, d)
}
