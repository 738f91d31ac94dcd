#!/usr/bin/env bash
# A second Docker Engine on this machine, on TCP with mutual TLS, for the
# tests that spread one live run over several engines (tests/it/live/engines.rs).
#
#   eval "$(bash .ci/second-engine.sh start)"   # prints the variables the tests read
#   bash .ci/second-engine.sh stop              # removes everything it made
#
# Runs as root next to the machine's own engine: its own data root, exec
# root, sockets and address pool (so its networks never overlap the first
# engine's), no iptables rules and no default bridge. Everything lives under
# OFFSIM_SECOND_ENGINE_DIR (default /tmp/offsim-second-engine); the TCP port
# is OFFSIM_SECOND_ENGINE_PORT (default 2376).
set -euo pipefail

DIR=${OFFSIM_SECOND_ENGINE_DIR:-/tmp/offsim-second-engine}
PORT=${OFFSIM_SECOND_ENGINE_PORT:-2376}
POOL=10.213.0.0/16

log() { echo "second engine: $*" >&2; }

# The engine through its private socket (no TLS needed there).
local_docker() { docker -H "unix://$DIR/docker.sock" "$@"; }

certificates() {
    local c=$DIR/certs
    mkdir -p "$c"
    (
        cd "$c"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
            -subj /CN=offsim-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=localhost 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.cnf
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem \
            -days 2 -extfile server.cnf 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=client 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' > client.cnf
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem \
            -days 2 -extfile client.cnf 2>/dev/null
        chmod 0600 ca-key.pem server-key.pem key.pem
    )
}

start() {
    if [ -e "$DIR/dockerd.pid" ]; then
        log "$DIR/dockerd.pid exists: already running? (stop it first)"
        exit 1
    fi
    mkdir -p "$DIR"
    certificates
    # An empty configuration file: /etc/docker/daemon.json would clash with the flags.
    echo '{}' > "$DIR/daemon.json"
    local driver
    driver=$(docker info --format '{{.Driver}}' 2>/dev/null || true)
    dockerd --config-file "$DIR/daemon.json" --data-root "$DIR/data" --exec-root "$DIR/exec" \
        --pidfile "$DIR/dockerd.pid" -H "tcp://127.0.0.1:$PORT" -H "unix://$DIR/docker.sock" \
        --tlsverify --tlscacert "$DIR/certs/ca.pem" --tlscert "$DIR/certs/server-cert.pem" \
        --tlskey "$DIR/certs/server-key.pem" ${driver:+--storage-driver "$driver"} \
        --bridge none --iptables=false --default-address-pool "base=$POOL,size=24" \
        > "$DIR/dockerd.log" 2>&1 &
    local pid=$!
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        if local_docker info > /dev/null 2>&1; then
            log "ready at tcp://127.0.0.1:$PORT (log: $DIR/dockerd.log)"
            echo "export OFFSIM_SECOND_ENGINE_URL=tcp://127.0.0.1:$PORT"
            echo "export OFFSIM_SECOND_ENGINE_CERTS=$DIR/certs"
            echo "export OFFSIM_SECOND_ENGINE_SOCKET=unix://$DIR/docker.sock"
            return
        fi
        sleep 0.5
    done
    log "did not start (within 30 s); its log ends:"
    tail -n 20 "$DIR/dockerd.log" >&2
    stop
    exit 1
}

stop() {
    if [ -S "$DIR/docker.sock" ] && local_docker info > /dev/null 2>&1; then
        # Containers and networks first, so no bridge interface outlives the engine.
        local_docker ps -aq | xargs -r docker -H "unix://$DIR/docker.sock" rm -f > /dev/null || true
        local_docker network prune -f > /dev/null || true
    fi
    local pid
    pid=$(cat "$DIR/dockerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "dockerd $pid still runs after 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Mounts the engine left under its directory, innermost first.
    if [ -d "$DIR" ]; then
        awk -v dir="$DIR" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do
            umount "$mount" 2>/dev/null || umount -l "$mount" || log "cannot unmount $mount"
        done
        rm -rf "$DIR"
    fi
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
