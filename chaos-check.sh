#!/usr/bin/env bash
# Chaos check: runs load against a local cluster of its own while killing nodes (kill -9) at
# random and restarting them, then verifies that every acknowledged event was applied exactly
# once (0 lost, 0 duplicated, 0 unexpected, versions contiguous), and that a webhook
# subscription delivered every acknowledged event at least once to a receiver, in order per
# entity (repeats are counted and printed). Exit 0 only when both hold.
#
#   ./chaos-check.sh                 3 nodes, 10 crashes
#   CRASHES=25 ./chaos-check.sh      more crashes
#   BASE_PORT=4153 NODES=3           nodes on 4153, 4154 (the seeds), 4155...; HTTP on port+1000; receiver on port+2000
#   JOURNAL="postgres:Host=...;Database=chaos;Username=...;Password=..."
#                                    the same on a PostgreSQL journal (an empty database: the
#                                    check adds a webhook subscription named chaos)
#
# It uses its own temporary journal (unless JOURNAL names one) and ports, so it can run beside
# ./run-local-cluster.sh.
set -euo pipefail
cd "$(dirname "$0")"

crashes=${CRASHES:-10}
nodes=${NODES:-3}
base=${BASE_PORT:-4153}
events_per_round=${EVENTS:-20000}
entities=${ENTITIES:-500}
if ((nodes < 3)); then
  echo "chaos-check: NODES must be at least 3 (a crash must leave a majority)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/eventcluster-chaos.XXXXXX")
journal=${JOURNAL:-"sqlite:$work/journal.db"}
seeds="127.0.0.1:$base,127.0.0.1:$((base + 1))"
export EVENTCLUSTER_SEEDS=$seeds

echo "Building EventCluster (Release)..."
dotnet build src/Node -c Release -v quiet -nologo >/dev/null
dotnet build src/Cli -c Release -v quiet -nologo >/dev/null
node_dll=src/Node/bin/Release/net10.0/EventCluster.Node.dll
client() { dotnet src/Cli/bin/Release/net10.0/eventcluster.dll "$@"; }

pids=()
load_pid=
receiver_pid=
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

start_node() {
  local i=$1 port=$((base + $1))
  dotnet "$node_dll" --port "$port" --http-port $((port + 1000)) --seeds "$seeds" --journal "$journal" --webhook-allowed-hosts 127.0.0.1 \
    --data-dir "$work/node-$port" >>"$work/node-$port.log" 2>&1 &
  pids[i]=$!
}

# Waits until the cluster reports exactly $nodes members, all Up.
wait_up() {
  local deadline=$((SECONDS + 120)) status
  while ((SECONDS < deadline)); do
    status=$(client status --json --timeout 5 2>/dev/null || true)
    if [ "$(grep -c '"status": "Up"' <<<"$status")" -eq "$nodes" ] &&
       [ "$(grep -c '"status": ' <<<"$status")" -eq "$nodes" ]; then
      return 0
    fi
    sleep 1
  done
  echo "chaos-check: the cluster did not come back to $nodes members Up within 120 s; logs in $work" >&2
  exit 1
}

for ((i = 0; i < nodes; i++)); do start_node "$i"; done
wait_up
echo "Cluster of $nodes nodes Up (ports $base-$((base + nodes - 1)), journal $journal)."

# A webhook receiver, and a subscription that delivers every event to it.
receiver_port=$((base + 2000))
# Started directly (not through the client function), so that $! is the receiver itself and the
# clean-up stops it.
dotnet src/Cli/bin/Release/net10.0/eventcluster.dll webhooks receive --port "$receiver_port" \
  >"$work/deliveries.jsonl" 2>"$work/receiver.log" &
receiver_pid=$!
client webhooks add --name chaos --url "http://127.0.0.1:$receiver_port/hook" --from start >/dev/null
echo "Webhook subscription 'chaos' delivers to a receiver on port $receiver_port."

# Load rounds run back to back until the crashes are done; each records what it sent and what
# was acknowledged.
touch "$work/running"
(
  round=0
  while [ -f "$work/running" ]; do
    round=$((round + 1))
    client load --events "$events_per_round" --entities "$entities" --concurrency 64 \
      --acked "$work/acked-$round.jsonl" --json >"$work/load-$round.json" 2>"$work/load-$round.err" \
      || echo "$round" >>"$work/failed-rounds"
  done
) &
load_pid=$!

for ((c = 1; c <= crashes; c++)); do
  sleep $((RANDOM % 5 + 2))
  victim=$((RANDOM % nodes))
  kill -9 "${pids[victim]}"
  wait "${pids[victim]}" 2>/dev/null || true
  echo "$(date +%T) crash $c/$crashes: kill -9 node on port $((base + victim))"
  # Down for 1-12 s: a short outage is taken over by the node's new incarnation, a long one
  # goes through failure detection, downing and failover first.
  sleep $((RANDOM % 12 + 1))
  start_node "$victim"
  wait_up
  echo "$(date +%T)   restarted; $nodes members Up again"
done

rm -f "$work/running"
echo "Crashes done; waiting for the last load round to finish..."
wait "$load_pid" || true
load_pid=

# A number field of the verify --json document in $result.
field() { grep -o "\"$1\": [0-9]*" <<<"$result" | grep -o '[0-9]*$' || echo 0; }
total_acked=0 lost=0 duplicated=0 unexpected=0 gaps=0 failed=0
for acked in "$work"/acked-*.jsonl; do
  [ -s "$acked" ] || continue
  result=$(client verify --acked "$acked" --json 2>"$acked.verify.err") || true
  total_acked=$((total_acked + $(field acked)))
  lost=$((lost + $(field lost)))
  duplicated=$((duplicated + $(field duplicated)))
  unexpected=$((unexpected + $(field unexpected)))
  gaps=$((gaps + $(field gaps)))
  [ -n "$result" ] || failed=$((failed + 1))
done
rounds=$(ls "$work"/load-*.json | wc -l)
failed_rounds=$( [ -f "$work/failed-rounds" ] && wc -l <"$work/failed-rounds" || echo 0)

# Webhooks: wait (at most 120 s) until the receiver has every acknowledged event, then check order.
cat "$work"/acked-*.jsonl >"$work/acked-all.jsonl"
deadline=$((SECONDS + 120))
webhook_ok=1
until webhooks=$(client webhooks check --acked "$work/acked-all.jsonl" --deliveries "$work/deliveries.jsonl"); do
  if ((SECONDS >= deadline)); then webhook_ok=0; break; fi
  sleep 2
done

echo
echo "crashes: $crashes   load rounds: $rounds (failed: $failed_rounds)   acknowledged: $total_acked"
echo "lost: $lost   duplicated: $duplicated   unexpected: $unexpected   gaps: $gaps   unverifiable files: $failed"
echo "webhook deliveries: $(head -1 <<<"$webhooks")"
echo "logs and files: $work"
if ((lost + duplicated + unexpected + gaps + failed + failed_rounds == 0 && webhook_ok == 1)); then
  echo "OK: every acknowledged event applied exactly once and delivered to the webhook at least once, in order per entity"
else
  echo "FAILED"
  exit 1
fi
