package notebookd

// Keep the websocket module required until notebookd/kernels uses it.
import _ "github.com/gorilla/websocket"
