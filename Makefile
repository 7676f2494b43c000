# Convenience targets; the README's two commands are the source of truth.
.PHONY: demo test build cross fuzz testenv-up testenv-down

demo:
	go run ./cmd/latchkey demo

test:
	scripts/test

build:
	mkdir -p bin
	go build -o bin/ ./cmd/...

# cross: the connector binaries for the platforms it ships on.
cross:
	mkdir -p bin
	GOOS=linux GOARCH=amd64 go build -o bin/latchkey-connector-linux-amd64 ./cmd/latchkey-connector
	GOOS=linux GOARCH=arm64 go build -o bin/latchkey-connector-linux-arm64 ./cmd/latchkey-connector
	GOOS=windows GOARCH=amd64 go build -o bin/latchkey-connector-windows-amd64.exe ./cmd/latchkey-connector

testenv-up:
	scripts/testenv up

testenv-down:
	scripts/testenv down
