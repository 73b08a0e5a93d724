# The hirestream binary, for docker-compose.yml and production images.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p api

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 hirestream
COPY --from=build /src/target/release/hirestream /usr/local/bin/hirestream
USER hirestream
ENTRYPOINT ["hirestream"]
CMD ["up"]
