#!/usr/bin/env bash
# Gives the local RabbitMQ node a TLS listener for the transport's TLS tests, without restarting it.
#
# Idempotent: does nothing when the TLS port already answers. Otherwise it creates a self-signed
# certificate for "localhost" (once, in a stable directory the broker can read) and starts a real
# TLS listener of the running node through rabbitmqctl eval. It also records the listener in the
# node's application environment, so that `rabbitmqctl stop_app` + `start_app` (which the fault
# tests do) bring it back. A full node restart forgets it; run this script again then.
#
#   RESQ_RABBITMQ_TLS_DIR   where cert.pem and key.pem live (default /var/lib/resq/rabbitmq-tls)
#   RESQ_RABBITMQ_TLS_PORT  the TLS port on 127.0.0.1 (default 5671)
set -euo pipefail

dir="${RESQ_RABBITMQ_TLS_DIR:-/var/lib/resq/rabbitmq-tls}"
port="${RESQ_RABBITMQ_TLS_PORT:-5671}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if answers "$port"; then
  exit 0
fi

mkdir -p "$dir"
chmod 755 "$dir"
if [[ ! -s "$dir/cert.pem" || ! -s "$dir/key.pem" ]]; then
  # The certificate names only the DNS name localhost (not 127.0.0.1), so that the tests can
  # show hostname verification refusing the address it does not name.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost" \
    -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" 2>/dev/null
  mv "$dir/key.pem.tmp" "$dir/key.pem"
  mv "$dir/cert.pem.tmp" "$dir/cert.pem"
fi
# Test-only key of a test-only certificate: the broker runs as its own user and must read it.
chmod 644 "$dir/cert.pem" "$dir/key.pem"

rabbitmqctl -q await_startup >/dev/null
opts="[{certfile,\"$dir/cert.pem\"},{keyfile,\"$dir/key.pem\"},{versions,['tlsv1.3','tlsv1.2']}]"
listener="{\"127.0.0.1\",$port}"
rabbitmqctl -q eval "
  _ = rabbit_networking:ensure_ssl(),
  %% The node caches PEM files by path; a certificate made anew must not be served from the cache.
  _ = ssl:clear_pem_cache(),
  ok = application:set_env(rabbit, ssl_options, $opts),
  ok = application:set_env(rabbit, ssl_listeners, [$listener]),
  rabbit_networking:start_ssl_listener($listener, $opts, 1)." >/dev/null

for ((i = 0; i < 30; i++)); do
  answers "$port" && { echo "RabbitMQ TLS listener on 127.0.0.1:$port (certificate $dir/cert.pem)"; exit 0; }
  sleep 1
done
echo "RabbitMQ TLS listener on 127.0.0.1:$port did not come up; see the broker's log" >&2
exit 1
