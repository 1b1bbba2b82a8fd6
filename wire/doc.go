// Package wire is the wire format of the Jupyter messaging protocol 5.4,
// shared by the kernel and the notebook server that talks to it: messages
// as ZeroMQ frames (routing identities, the "<IDS|MSG>" delimiter, an
// HMAC-SHA256 signature, header, parent header, metadata, content and raw
// buffers), the connection file, message ids and dates, and the TCP
// transport for github.com/go-zeromq/zmq4 that both sides use.
//
// See https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol.
package wire
