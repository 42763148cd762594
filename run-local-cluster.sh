#!/usr/bin/env bash
# Starts a local EventCluster of three node processes on this machine (two of them seeds) on the
# embedded SQLite journal, prints their log lines prefixed by node, and on Ctrl-C makes every
# node leave the cluster gracefully.
#
#   ./run-local-cluster.sh              nodes on ports 4053 (seed), 4054 (seed), 4055
#   NODES=5 ./run-local-cluster.sh      more nodes (4056, 4057, ...)
#   JOURNAL=sqlite:/tmp/ec.db ./run-local-cluster.sh
set -euo pipefail
cd "$(dirname "$0")"

nodes=${NODES:-3}
journal=${JOURNAL:-sqlite:data/eventcluster.db}
seeds=127.0.0.1:4053,127.0.0.1:4054
config=${CONFIGURATION:-Release}

echo "Building EventCluster ($config)..."
dotnet build src/Node -c "$config" -v quiet -nologo
dotnet build src/Cli -c "$config" -v quiet -nologo
# ./eventcluster rebuilds the client only when its sources are newer than this stamp.
[ "$config" = Release ] && touch src/Cli/bin/Release/net10.0/.built
node_dll=src/Node/bin/$config/net10.0/EventCluster.Node.dll

# Webhook secrets are stored encrypted under this key; made once, kept beside the data (not in the
# journal), so that the README's signed webhook works on the local cluster.
# A key given in EVENTCLUSTER_SECRETS_KEY is used instead (the nodes refuse both at once).
secrets_key=()
if [ -z "${EVENTCLUSTER_SECRETS_KEY:-}" ]; then
  secrets_key_file=${EVENTCLUSTER_SECRETS_KEY_FILE:-data/secrets.keys}
  if [ ! -f "$secrets_key_file" ]; then
    mkdir -p "$(dirname "$secrets_key_file")"
    (umask 077 && head -c 32 /dev/urandom | base64 > "$secrets_key_file")
    echo "Made the webhook secrets key $secrets_key_file"
  fi
  secrets_key=(--secrets-key-file "$secrets_key_file")
fi

pids=()
stop_all() {
  trap - INT TERM
  echo "Stopping ${#pids[@]} nodes gracefully, last started first..."
  # One at a time: each leaving node hands its shards to nodes that are staying.
  for ((j = ${#pids[@]} - 1; j >= 0; j--)); do
    kill -TERM "${pids[j]}" 2>/dev/null || true
    status=0
    wait "${pids[j]}" 2>/dev/null || status=$?
    echo "node$((j + 1)):$((4053 + j)) exited with code $status"
  done
  echo "All nodes stopped."
  exit 0
}
trap stop_all INT TERM

for ((i = 0; i < nodes; i++)); do
  port=$((4053 + i))
  name="node$((i + 1)):$port"
  # Each node runs in its own process group so that Ctrl-C reaches only this script, which then
  # asks every node to leave in turn instead of killing them all at once.
  # The log prefixer ignores Ctrl-C too, so it keeps printing while the node says goodbye.
  # Webhook receivers of a development cluster live on this machine: loopback is allowed here only.
  # A 16 MiB young-generation budget: shorter garbage-collection pauses (README, "Garbage collection").
  DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x1000000}" setsid dotnet "$node_dll" --port "$port" --seeds "$seeds" --journal "$journal" --webhook-allowed-hosts 127.0.0.1 \
    "${secrets_key[@]}" > >(trap '' INT; exec sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
done

echo "Started ${#pids[@]} nodes (seeds $seeds, journal $journal). HTTP health on ports 5053-$((5053 + nodes - 1))."
echo "Try: ./eventcluster status   (or: export EVENTCLUSTER_SEEDS=$seeds)"
echo "Press Ctrl-C to stop the cluster."
wait
