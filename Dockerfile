# syntax=docker/dockerfile:1
# The hub-operator image: `make image` (docker build -t ramen-hub-operator:dev .).
# Build stage: the release binary of crates/hub-operator, from the locked dependency set.
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the registry and build output between builds; the binary is copied out of the
# cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p hub-operator \
    && install -D -m 0755 target/release/hub-operator /out/hub-operator

# Runtime stage: distroless with glibc and libgcc only (TLS is rustls, so no OpenSSL), no shell, and the
# non-root user 65532 the chart's securityContext expects.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/hub-operator /hub-operator
USER 65532:65532
EXPOSE 8081 9289
ENTRYPOINT ["/hub-operator"]
CMD ["run"]
