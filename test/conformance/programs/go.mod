// The conformance programs: one main package per file, each built on its own
// (go build NNN_topic.go) by test/conformance/test_conformance.py. A module of
// their own keeps them out of the repository's ./... (go vet, go test).
module github.com/ferryml/ferry/test/conformance/programs

go 1.26
