package notebookd

import (
	"net/http"
	"os"
	"path"
	"strings"
)

// kernelCwd returns the directory on disk for a kernel started for the
// contents path p: p itself when a directory, else its nearest parent.
func (s *Server) kernelCwd(p string) string {
	p = strings.Trim(p, "/")
	for {
		if lp, err := s.cfg.Contents.LocalPath(p); err == nil {
			if fi, err := os.Stat(lp); err == nil && fi.IsDir() {
				return lp
			}
		}
		if p == "" {
			return ""
		}
		p = path.Dir(p)
		if p == "." {
			p = ""
		}
	}
}

func (s *Server) handleKernels(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	k := s.cfg.Kernels
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			ks := k.List()
			if ks == nil {
				ks = []*KernelModel{}
			}
			writeJSON(w, http.StatusOK, ks)
		case http.MethodPost:
			var body struct {
				Name string `json:"name"`
				Path string `json:"path"`
			}
			if _, err := decodeBody(r, &body); err != nil {
				return err
			}
			km, err := k.Start(ctx, body.Name, s.kernelCwd(body.Path))
			if err != nil {
				return err
			}
			w.Header().Set("Location", s.base+"api/kernels/"+escapePath(km.ID))
			writeJSON(w, http.StatusCreated, km)
		default:
			return errMethod(r)
		}
		return nil
	}
	escID, action, _ := strings.Cut(rest, "/")
	id, err := unescapePath(escID)
	if err != nil {
		return err
	}
	switch action {
	case "":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			km, err := k.Get(id)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, km)
		case http.MethodDelete:
			if err := k.Shutdown(ctx, id); err != nil {
				return err
			}
			s.sessions.dropKernel(id)
			w.WriteHeader(http.StatusNoContent)
		default:
			return errMethod(r)
		}
	case "interrupt":
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		if err := k.Interrupt(ctx, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	case "restart":
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		km, err := k.Restart(ctx, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, km)
	case "channels":
		if r.Method != http.MethodGet {
			return errMethod(r)
		}
		if _, err := k.Get(id); err != nil {
			return err
		}
		k.ServeChannels(w, r, id)
	default:
		return Errorf(http.StatusNotFound, "no such kernel route: %s", action)
	}
	return nil
}
