# Convenience targets; the README's two commands are the source of truth.
.PHONY: demo test build cross fuzz testenv-up testenv-down

demo:
	go run ./cmd/latchkey demo

test:
	scripts/test

build:
	mkdir -p bin
	go build -o bin/ ./cmd/...

testenv-up:
	scripts/testenv up

testenv-down:
	scripts/testenv down
