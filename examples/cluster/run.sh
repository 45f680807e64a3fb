#!/bin/sh
# Runs a three-node gorilla-remote cluster on this machine, on 127.0.0.1,
# 127.0.0.2 and 127.0.0.3, sharing the filesystem bucket of bucket.yml.
# Run it from this directory; Ctrl-C stops the three nodes.
#
#   GORILLA_REMOTE=/path/to/gorilla-remote ./run.sh
set -eu
bin=${GORILLA_REMOTE:-gorilla-remote}
mkdir -p data/bucket

node() {
	n=$1
	"$bin" serve \
		--cluster.node-name="node-$n" \
		--web.listen-address="127.0.0.$n:9201" \
		--cluster.listen-address="127.0.0.$n:7946" \
		--cluster.join=127.0.0.1:7946 \
		--cluster.join=127.0.0.2:7946 \
		--cluster.join=127.0.0.3:7946 \
		--cluster.heartbeat-timeout=15s \
		--storage.path="data/node-$n" \
		--objstore.config-file=bucket.yml &
}

trap 'kill $(jobs -p) 2>/dev/null; wait' INT TERM
node 1
node 2
node 3
wait
