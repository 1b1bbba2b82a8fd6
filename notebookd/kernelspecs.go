package notebookd

import (
	"net/http"
	"path"
	"strings"
)

func (s *Server) specJSON(sp *KernelSpec) map[string]any {
	res := map[string]string{}
	for k, v := range sp.Resources {
		res[k] = s.base + "kernelspecs/" + escapePath(sp.Name) + "/" + escapePath(path.Base(v))
	}
	return map[string]any{"name": sp.Name, "spec": sp.Spec, "resources": res}
}

func (s *Server) handleKernelspecs(w http.ResponseWriter, r *http.Request, rest string) error {
	specs, def := s.cfg.Kernels.Specs()
	name, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if name != "" {
		sp, ok := specs[name]
		if !ok {
			return Errorf(http.StatusNotFound, "kernel spec %s not found", name)
		}
		return methodJSON(w, r, http.MethodGet, s.specJSON(sp))
	}
	out := map[string]any{}
	for n, sp := range specs {
		out[n] = s.specJSON(sp)
	}
	return methodJSON(w, r, http.MethodGet, map[string]any{"default": def, "kernelspecs": out})
}

func (s *Server) handleKernelspecResource(w http.ResponseWriter, r *http.Request, rest string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errMethod(r)
	}
	escName, escRes, ok := strings.Cut(rest, "/")
	if !ok {
		return Errorf(http.StatusNotFound, "no resource given")
	}
	name, err := unescapePath(escName)
	if err != nil {
		return err
	}
	res, err := unescapePath(escRes)
	if err != nil {
		return err
	}
	specs, _ := s.cfg.Kernels.Specs()
	sp, ok := specs[name]
	if !ok || sp.Dir == "" {
		return Errorf(http.StatusNotFound, "kernel spec %s not found", name)
	}
	return serveFileIn(w, r, sp.Dir, res)
}
