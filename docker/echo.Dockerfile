# The echo upstream of docker-compose.yml: `echo-upstream` (tests/src/bin),
# which answers every request with JSON describing what it received.
# Build from the repository root (compose does this for `up --build`):
#
#   docker build -f docker/echo.Dockerfile -t tollgate/echo-upstream:dev .
#
# Only the workspace's sources enter the build (docker/echo.Dockerfile.dockerignore,
# read by BuildKit, the default builder of `docker compose` v2 and of
# `docker build` since Docker 23). Override the base images with
# --build-arg RUST_IMAGE=... / RUNTIME_IMAGE=... (e.g. a mirror).
ARG RUST_IMAGE=rust:1-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# Only tollgate-tests' library and this binary are compiled (serde_json, libc).
RUN cargo build --release -p tollgate-tests --bin echo-upstream --target-dir /build \
 && cp /build/release/echo-upstream /echo-upstream

# glibc and libgcc, as the binary needs; runs as an unprivileged user.
FROM ${RUNTIME_IMAGE}
COPY --from=build /echo-upstream /usr/local/bin/echo-upstream
EXPOSE 18080
ENTRYPOINT ["/usr/local/bin/echo-upstream"]
CMD ["0.0.0.0:18080"]
