// Package kernel implements the Jupyter messaging protocol 5.4 for Ferry's
// Go kernel: the five ZeroMQ channels of a connection file (shell, control
// and stdin ROUTER, iopub PUB, heartbeat REP) over github.com/go-zeromq/zmq4,
// and the request handlers of
// https://jupyter-client.readthedocs.io/en/stable/messaging.html. The wire
// format of the messages, which the notebook server shares, is package wire. The iopub
// PUB socket is the package's own (ZMTP 3.0, https://rfc.zeromq.org/spec/23/,
// with zmq4's handshake), so that floods of output go out in batches.
//
// The package knows nothing about Go evaluation: a Kernel runs cells through
// an Evaluator (see kernel/goeval for the yaegi implementation), and keeps the
// comm registry, execution history and stdin forwarding that any evaluator
// shares.
package kernel
