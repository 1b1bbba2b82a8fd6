package notebookd

import (
	"net/http"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{
	// The Origin is checked before any handler runs.
	CheckOrigin: func(*http.Request) bool { return true },
}

// handleEvents serves the event bus: POST /api/events accepts and drops
// events; /api/events/subscribe is a websocket that stays quiet.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, p string) error {
	if p == "api/events" {
		if r.Method != http.MethodPost {
			return errMethod(r)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return Errorf(http.StatusBadRequest, "/api/events/subscribe is a websocket")
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader answered
	}
	defer c.Close()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return nil
		}
	}
}
