#!/bin/sh
# Starts an EventCluster node in a container. A node must publish an address the other nodes
# can reach: seeds set EVENTCLUSTER_HOST to their service name; scaled workers leave it empty and
# publish the container's own IP address.
set -e
if [ -z "${EVENTCLUSTER_HOST:-}" ]; then
  EVENTCLUSTER_HOST=$(hostname -i | cut -d' ' -f1)
  export EVENTCLUSTER_HOST
fi
# exec: the node becomes PID 1, so `docker stop` (SIGTERM) reaches it and
# it leaves the cluster gracefully.
exec dotnet /app/EventCluster.Node.dll "$@"
