package notebookd

import (
	"net/http"
	"strings"
)

func (s *Server) handleContents(w http.ResponseWriter, r *http.Request, rest string) error {
	ctx := r.Context()
	rest = strings.TrimPrefix(rest, "/")
	// <path>/checkpoints[/<id>], matched on the escaped path as jupyter_server does.
	var cpID string
	checkpoints := false
	if rest == "checkpoints" || strings.HasSuffix(rest, "/checkpoints") {
		checkpoints = true
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, "checkpoints"), "/")
	} else if i := strings.LastIndex(rest, "/checkpoints/"); i >= 0 && !strings.Contains(rest[i+len("/checkpoints/"):], "/") {
		checkpoints = true
		cpID = rest[i+len("/checkpoints/"):]
		rest = rest[:i]
	} else if strings.HasPrefix(rest, "checkpoints/") && !strings.Contains(rest[len("checkpoints/"):], "/") {
		checkpoints = true
		cpID = rest[len("checkpoints/"):]
		rest = ""
	}
	p, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if checkpoints {
		return s.handleCheckpoints(w, r, p, cpID)
	}
	c := s.cfg.Contents
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		opt := GetOptions{Type: q.Get("type"), Format: q.Get("format"), Content: true}
		switch opt.Type {
		case "", "file", "notebook", "directory":
		default:
			return Errorf(http.StatusBadRequest, "type %q is invalid", opt.Type)
		}
		switch opt.Format {
		case "", "text", "base64":
		default:
			return Errorf(http.StatusBadRequest, "format %q is invalid", opt.Format)
		}
		if opt.Content, err = boolArg(q.Get("content"), true, "content"); err != nil {
			return err
		}
		if opt.Hash, err = boolArg(q.Get("hash"), false, "hash"); err != nil {
			return err
		}
		m, err := c.Get(ctx, p, opt)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodPut:
		var body struct {
			Model
			CopyFrom string `json:"copy_from"`
		}
		// The body is decoded as it is read, and capped: a file over the
		// limit is uploaded in chunks.
		empty, err := decodeLimited(w, r, &body, s.maxBodyBytes(), "upload big files in chunks (as JupyterLab does for files over 15 MB), or raise the limit with ferry lab --max-body-size")
		if err != nil {
			return err
		}
		if body.CopyFrom != "" {
			return Errorf(http.StatusBadRequest, "cannot copy with PUT, only POST")
		}
		if empty {
			// jupyter_server: PUT without a body creates a new untitled file in p.
			m, err := c.NewUntitled(ctx, p, "", "")
			if err != nil {
				return err
			}
			return s.created(w, m)
		}
		_, gerr := c.Get(ctx, p, GetOptions{})
		exists := gerr == nil
		if gerr != nil && StatusOf(gerr) != http.StatusNotFound {
			return gerr
		}
		m, err := c.Save(ctx, p, &body.Model)
		if err != nil {
			return err
		}
		if exists {
			writeJSON(w, http.StatusOK, m)
			return nil
		}
		return s.created(w, m)
	case http.MethodPost:
		var body struct {
			CopyFrom string `json:"copy_from"`
			Ext      string `json:"ext"`
			Type     string `json:"type"`
		}
		if _, err := decodeLimited(w, r, &body, maxSmallBody, "a POST to the contents API carries only copy_from, ext and type"); err != nil {
			return err
		}
		dir, err := c.Get(ctx, p, GetOptions{})
		if err != nil {
			return err
		}
		if dir.Type != "directory" {
			return Errorf(http.StatusBadRequest, "cannot POST to files, use PUT instead")
		}
		var m *Model
		if body.CopyFrom != "" {
			from := strings.Trim(body.CopyFrom, "/")
			m, err = c.Copy(ctx, from, p)
		} else {
			m, err = c.NewUntitled(ctx, p, body.Type, body.Ext)
		}
		if err != nil {
			return err
		}
		return s.created(w, m)
	case http.MethodPatch:
		var body struct {
			Path *string `json:"path"`
		}
		if _, err := decodeLimited(w, r, &body, maxSmallBody, "a PATCH to the contents API carries only the new path"); err != nil {
			return err
		}
		if body.Path == nil {
			return Errorf(http.StatusBadRequest, "PATCH needs the new path: {\"path\": ...}")
		}
		m, err := c.Rename(ctx, p, strings.Trim(*body.Path, "/"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, m)
	case http.MethodDelete:
		if err := c.Delete(ctx, p); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return errMethod(r)
	}
	return nil
}

func (s *Server) created(w http.ResponseWriter, m *Model) error {
	w.Header().Set("Location", s.base+"api/contents/"+escapePath(m.Path))
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func boolArg(v string, def bool, name string) (bool, error) {
	switch v {
	case "":
		return def, nil
	case "1", "true", "True":
		return true, nil
	case "0", "false", "False":
		return false, nil
	}
	return false, Errorf(http.StatusBadRequest, "%s %q is invalid: use 0 or 1", name, v)
}
