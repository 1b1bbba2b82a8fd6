package notebookd

import "net/http"

func (s *Server) handleTranslations(w http.ResponseWriter, r *http.Request, rest string) error {
	locale, err := unescapePath(rest)
	if err != nil {
		return err
	}
	if locale == "" {
		return methodJSON(w, r, http.MethodGet, map[string]any{
			"data":    map[string]any{"en": map[string]string{"displayName": "English", "nativeName": "English"}},
			"message": "",
		})
	}
	return methodJSON(w, r, http.MethodGet, map[string]any{"data": map[string]any{}, "message": ""})
}
