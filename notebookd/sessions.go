package notebookd

import (
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// session is a Jupyter session: a document path bound to a kernel.
type session struct {
	ID       string
	Path     string
	Name     string
	Type     string
	KernelID string
	created  time.Time
}

// SessionModel is a session as the sessions API shows it.
type SessionModel struct {
	ID       string            `json:"id"`
	Path     string            `json:"path"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Kernel   *KernelModel      `json:"kernel"`
	Notebook map[string]string `json:"notebook"`
}

type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]*session{}} }

func (st *sessionStore) get(id string) (session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	if !ok {
		return session{}, false
	}
	return *s, true
}

func (st *sessionStore) put(s session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.m[s.ID] = &s
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

func (st *sessionStore) byPath(p string) (session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.m {
		if s.Path == p {
			return *s, true
		}
	}
	return session{}, false
}

func (st *sessionStore) kernelUsed(kid, except string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.m {
		if s.KernelID == kid && s.ID != except {
			return true
		}
	}
	return false
}

func (st *sessionStore) dropKernel(kid string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, s := range st.m {
		if s.KernelID == kid {
			delete(st.m, id)
		}
	}
}

func (st *sessionStore) list() []session {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]session, 0, len(st.m))
	for _, s := range st.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].created.Before(out[j].created) })
	return out
}

// model returns the session's model, or false when its kernel is gone
// (then the session is dropped, as jupyter_server does).
func (s *Server) sessionModel(ss session) (*SessionModel, bool) {
	km, err := s.cfg.Kernels.Get(ss.KernelID)
	if err != nil {
		s.sessions.delete(ss.ID)
		return nil, false
	}
	return &SessionModel{
		ID: ss.ID, Path: ss.Path, Name: ss.Name, Type: ss.Type, Kernel: km,
		Notebook: map[string]string{"path": ss.Path, "name": ss.Name},
	}, true
}

type sessionBody struct {
	Path     *string `json:"path"`
	Name     *string `json:"name"`
	Type     *string `json:"type"`
	Notebook *struct {
		Path *string `json:"path"`
		Name *string `json:"name"`
	} `json:"notebook"`
	Kernel *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"kernel"`
}

func (b *sessionBody) path() *string {
	if b.Path != nil {
		return b.Path
	}
	if b.Notebook != nil {
		return b.Notebook.Path
	}
	return nil
}

func (b *sessionBody) name() *string {
	if b.Name != nil {
		return b.Name
	}
	if b.Notebook != nil {
		return b.Notebook.Name
	}
	return nil
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	id, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if id == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			out := []*SessionModel{}
			for _, ss := range s.sessions.list() {
				if m, ok := s.sessionModel(ss); ok {
					out = append(out, m)
				}
			}
			writeJSON(w, http.StatusOK, out)
			return nil
		case http.MethodPost:
		default:
			return errMethod(r)
		}
		var body sessionBody
		if _, err := decodeBody(r, &body); err != nil {
			return err
		}
		p := body.path()
		if p == nil {
			return Errorf(http.StatusBadRequest, "missing field in JSON data: path")
		}
		sp := strings.Trim(*p, "/")
		if old, ok := s.sessions.byPath(sp); ok {
			if m, ok := s.sessionModel(old); ok {
				w.Header().Set("Location", s.base+"api/sessions/"+escapePath(m.ID))
				writeJSON(w, http.StatusCreated, m)
				return nil
			}
		}
		ss := session{ID: newUUID(), Path: sp, Type: "notebook", created: time.Now()}
		if n := body.name(); n != nil {
			ss.Name = *n
		} else {
			ss.Name = path.Base(sp)
		}
		if body.Type != nil {
			ss.Type = *body.Type
		}
		if body.Kernel != nil && body.Kernel.ID != "" {
			if _, err := s.cfg.Kernels.Get(body.Kernel.ID); err != nil {
				return err
			}
			ss.KernelID = body.Kernel.ID
		} else {
			kname := ""
			if body.Kernel != nil {
				kname = body.Kernel.Name
			}
			km, err := s.cfg.Kernels.Start(ctx, kname, s.kernelCwd(path.Dir(sp)))
			if err != nil {
				return err
			}
			ss.KernelID = km.ID
		}
		s.sessions.put(ss)
		m, ok := s.sessionModel(ss)
		if !ok {
			return Errorf(http.StatusInternalServerError, "the session's kernel %s died at start", ss.KernelID)
		}
		w.Header().Set("Location", s.base+"api/sessions/"+escapePath(ss.ID))
		writeJSON(w, http.StatusCreated, m)
		return nil
	}

	ss, ok := s.sessions.get(id)
	if !ok {
		return Errorf(http.StatusNotFound, "session not found: %s", id)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, ok := s.sessionModel(ss)
		if !ok {
			return Errorf(http.StatusNotFound, "session not found: %s (its kernel is gone)", id)
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodPatch:
		var body sessionBody
		if _, err := decodeBody(r, &body); err != nil {
			return err
		}
		if p := body.path(); p != nil {
			ss.Path = strings.Trim(*p, "/")
		}
		if n := body.name(); n != nil {
			ss.Name = *n
		}
		if body.Type != nil {
			ss.Type = *body.Type
		}
		oldKernel := ss.KernelID
		if body.Kernel != nil {
			if body.Kernel.ID != "" {
				if _, err := s.cfg.Kernels.Get(body.Kernel.ID); err != nil {
					return err
				}
				ss.KernelID = body.Kernel.ID
			} else {
				km, err := s.cfg.Kernels.Start(ctx, body.Kernel.Name, s.kernelCwd(path.Dir(ss.Path)))
				if err != nil {
					return err
				}
				ss.KernelID = km.ID
			}
		}
		s.sessions.put(ss)
		if oldKernel != ss.KernelID && !s.sessions.kernelUsed(oldKernel, "") {
			if err := s.cfg.Kernels.Shutdown(ctx, oldKernel); err != nil && StatusOf(err) != http.StatusNotFound {
				s.log.Warn("shutting the replaced kernel down", "kernel", oldKernel, "err", err)
			}
		}
		m, ok := s.sessionModel(ss)
		if !ok {
			return Errorf(http.StatusNotFound, "session not found: %s (its kernel is gone)", id)
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodDelete:
		s.sessions.delete(id)
		if !s.sessions.kernelUsed(ss.KernelID, "") {
			if err := s.cfg.Kernels.Shutdown(ctx, ss.KernelID); err != nil && StatusOf(err) != http.StatusNotFound {
				return err
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}

func newUUID() string {
	h := randomHex(16)
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}
