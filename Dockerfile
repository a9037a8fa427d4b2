# Keyhold's image: built with cargo-leptos (the server binary and the site: WASM, JS, CSS), run
# as a non-root user on a small Debian base. Not built in this repository's CI (no registry access
# here); `deploy/keyhold.yaml` names the image it produces.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# `make build` installs its tools (cargo-leptos, wasm-bindgen-cli, tailwind and wasm-opt from npm),
# splits the WASM by route (`--split`: without it the page's script cannot load) and compresses
# the static files ahead of time.
RUN make build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
# The binary finds the site next to it (/usr/local/bin/site).
COPY --from=build /src/target/release/keyhold /usr/local/bin/keyhold
COPY --from=build /src/target/site /usr/local/bin/site
USER 65532:65532
EXPOSE 3000
ENTRYPOINT ["keyhold"]
CMD ["serve", "--cluster", "in-cluster", "--listen", "0.0.0.0:3000", "--data-dir", "/data"]
