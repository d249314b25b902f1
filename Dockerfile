# syntax=docker/dockerfile:1
# commbench in one static binary: the reaction and notification services and
# the load generator (docker-compose.bench.yml runs all three from it).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/commbench ./cmd/commbench

# A static busybox, for one applet: wget, the services' healthcheck.
FROM busybox:1.37-musl AS busybox

# distroless/static: CA certificates, /tmp, a nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/commbench /commbench
COPY --from=busybox /bin/busybox /bin/wget
COPY profiles/ /profiles/
USER nonroot
ENTRYPOINT ["/commbench"]
