# Builds Soot and runs it against the PostgreSQL named by DATABASE_URL (see docker-compose.yml).
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product soot --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app soot
WORKDIR /app
COPY --from=build /src/.build/release/soot /usr/local/bin/soot
COPY Migrations ./Migrations
COPY Public ./Public
USER soot
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
ENTRYPOINT ["soot"]
CMD ["serve"]
