// Package testsrv starts real servers for tests (an S3 gateway, a
// database, ...) on free loopback ports and temporary directories, and
// stops them when the test ends.
//
// A server binary that is missing fails the test with a message saying how
// to build or install it; in -short mode the test is skipped instead.
package testsrv
