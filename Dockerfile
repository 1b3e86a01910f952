# The alluvium image: one static binary, nothing else but CA certificates
# (for S3 over HTTPS), run as a non-root user. Build from the repository's
# root:
#
#   docker build -t alluvium:dev --build-arg VERSION=$(git describe --always) .
#
# The chart (deploy/helm/alluvium) runs /alluvium coordinator|worker|fuse.
# No shell and no fusermount3 in the image: the FUSE DaemonSet runs as root
# and privileged, and alluvium then mounts /dev/fuse directly.

# --- build: a static binary (no cgo), without local paths or symbols.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/alluvium ./cmd/alluvium

# --- run: distroless static (CA certificates, /etc/passwd with nonroot,
# tzdata; no shell, no package manager).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/alluvium /alluvium
# 65532 is distroless's "nonroot"; numeric so that runAsNonRoot can check it.
USER 65532:65532
EXPOSE 7000 8000 9000 9100
ENTRYPOINT ["/alluvium"]
