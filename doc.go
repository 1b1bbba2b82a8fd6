// Package ferry holds what every domain shares: the Error type and its
// Codes (NotFound, AlreadyExists, Invalid, Unavailable, NotSupported,
// Internal), which storage, jobs and the control-plane APIs return and which
// the APIs map to HTTP statuses and back.
//
// It imports nothing of Ferry's, so that any package may import it.
package ferry
