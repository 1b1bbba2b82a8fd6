package notebookd

import "net/http"

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request, p, escapedID string) error {
	ctx := r.Context()
	c := s.cfg.Contents
	if escapedID == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			cps, err := c.ListCheckpoints(ctx, p)
			if err != nil {
				return err
			}
			if cps == nil {
				cps = []Checkpoint{}
			}
			writeJSON(w, http.StatusOK, cps)
		case http.MethodPost:
			cp, err := c.CreateCheckpoint(ctx, p)
			if err != nil {
				return err
			}
			w.Header().Set("Location", s.base+"api/contents/"+escapePath(p)+"/checkpoints/"+escapePath(cp.ID))
			writeJSON(w, http.StatusCreated, cp)
		default:
			return errMethod(r)
		}
		return nil
	}
	id, err := unescapePath(escapedID)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodPost:
		err = c.RestoreCheckpoint(ctx, p, id)
	case http.MethodDelete:
		err = c.DeleteCheckpoint(ctx, p, id)
	default:
		return errMethod(r)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
