# EventCluster node image: built inside the image with the .NET SDK, run on the ASP.NET runtime
# image as a non-root user. Configure it only through EVENTCLUSTER_* variables (see README).
#
#   docker build -t eventcluster-node .
#   docker compose up --scale worker=2
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files only, so that source edits reuse the restore layer.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Messages/EventCluster.Messages.csproj src/Messages/
COPY src/Node/EventCluster.Node.csproj src/Node/
COPY src/Client/EventCluster.Client.csproj src/Client/
COPY src/Cli/EventCluster.Cli.csproj src/Cli/
RUN dotnet restore src/Node/EventCluster.Node.csproj && dotnet restore src/Cli/EventCluster.Cli.csproj
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/Node/EventCluster.Node.csproj -c Release --no-restore -o /out/node \
 && dotnet publish src/Cli/EventCluster.Cli.csproj -c Release --no-restore -o /out/client

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl for the health check on /health/ready.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown app:app /data
WORKDIR /app
COPY --from=build /out/node ./
COPY --from=build /out/client ./client/
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# Listen on every interface of the container; node-local files under /data. The public host name
# (EVENTCLUSTER_HOST) is the service name for seeds and, when left empty, the container's address.
ENV EVENTCLUSTER_BIND_HOST=0.0.0.0 \
    EVENTCLUSTER_PORT=4053 \
    EVENTCLUSTER_HTTP_PORT=5053 \
    EVENTCLUSTER_DATA_DIR=/data/node
# A 16 MiB young-generation budget instead of the runtime's (about 100 MiB on large caches):
# collections come more often but each pauses the node for ~10 ms instead of ~50 ms, which is
# what the write path's p99 is made of (README, "Garbage collection"). Only the environment sets it.
ENV DOTNET_GCgen0size=0x1000000
# 8558: the management endpoint, when cluster bootstrap (EVENTCLUSTER_DISCOVERY) is on.
EXPOSE 4053 5053 8558
# The "app" user (uid 1654) ships with the .NET images.
USER app
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=12 \
  CMD curl -fsS "http://127.0.0.1:${EVENTCLUSTER_HTTP_PORT}/health/ready" || exit 1
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
