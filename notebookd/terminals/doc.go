// Package terminals runs the shells behind JupyterLab's terminals: each
// terminal is a shell on a pseudo-terminal (github.com/creack/pty) in its own
// session, served over Jupyter Server's terminals API.
//
// Manager implements notebookd.Terminals. Terminals are named "1", "2", ...
// (the lowest free number) unless created with a name. A terminal's
// websocket speaks the terminado protocol: text frames holding JSON arrays,
// ["setup", {}] on connect, ["stdout", text] for output and
// ["disconnect", 1] when the shell exits from the server; ["stdin", text]
// and ["set_size", rows, cols, height_px, width_px] from the client.
//
// Several websockets may attach to one terminal: all of them see its
// output, and the pty is sized to the smallest of them, as in terminado.
// The last 64 KiB of output are kept and replayed to every websocket that
// attaches, so output produced while none was attached is not lost. Output
// is sent as whole UTF-8 characters even when the pty splits one between
// two reads; bytes that are not UTF-8 become U+FFFD.
//
// The shell is $SHELL, else /bin/bash, else /bin/sh, with TERM=xterm-256color
// over the server's environment, in a session of its own. Deleting a
// terminal hangs it up (SIGHUP to the session, and the pty closed), then,
// once the shell has exited or after a grace period, kills what is left of
// the session with SIGKILL, nohup'ed jobs included: only processes that
// started a session of their own (setsid) outlive it. Manager.Close does
// that to every terminal. When the shell exits by itself, its session gets
// SIGHUP and its websockets get ["disconnect", 1].
package terminals
