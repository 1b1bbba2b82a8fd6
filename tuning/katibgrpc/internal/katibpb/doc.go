// Package katibpb is the Go code protoc generates from Katib's gRPC API,
// pkg/apis/manager/v1beta1/api.proto of github.com/kubeflow/katib v0.19.0
// (the shared spec ../shared/specs/katib-v0.19.0-api.proto): the messages
// and the Suggestion, EarlyStopping and DBManager services of the proto
// package api.v1.beta1, whose method names Katib's controller calls.
//
// The generated files are committed, so a build needs no protoc. They come
// from protoc with protoc-gen-go v1.36.12 (the google.golang.org/protobuf
// of go.mod) and protoc-gen-go-grpc v1.5.1, the proto copied as api.proto
// (the name Katib compiles it under) and given this package with the M
// option instead of its go_package. TestGenerated regenerates them into a
// temporary directory and compares; go generate rewrites them.
package katibpb

//go:generate go test -run ^TestGenerated$ -update
