module github.com/ferryml/ferry

go 1.26

require (
	github.com/apache/arrow-go/v18 v18.8.0
	github.com/go-zeromq/zmq4 v0.17.0
	github.com/goccy/go-json v0.10.6
	github.com/gorilla/websocket v1.5.3
	github.com/traefik/yaegi v0.16.1
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/exp v0.0.0-20260112195511-716be5621a96 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
