#!/bin/sh
# make demo: start the demo IdP, write a demo profile, sign in to it, show who
# you are. Approve the login in a browser at the printed URL, or from another
# terminal with the curl command printed below.
#
# Usage: cmd/demoidp/demo.sh [ADDR [LOGIN FLAGS…]]   (default 127.0.0.1:8765; after make build)
set -eu

addr=${1:-127.0.0.1:8765}
[ $# -gt 0 ] && shift
dir=bin/demo
mkdir -p "$dir"

bin/demoidp --addr "$addr" >"$dir/demoidp.out" 2>"$dir/demoidp.log" &
idp=$!
trap 'kill $idp 2>/dev/null || true' EXIT INT TERM

i=0
until grep -q issuer "$dir/demoidp.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $idp 2>/dev/null; then
		echo "demo: the demo IdP did not start; see $dir/demoidp.log" >&2
		cat "$dir/demoidp.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat >"$dir/config.toml" <<TOML
# Written by make demo.
default_profile = "demo"

[store]
backend = "file"
dir     = "tokens"    # relative to this file: $dir/tokens

[profiles.demo]
provider  = "oidc"
client_id = "idplug-demo"
[profiles.demo.settings]
issuer = "http://$addr"
TOML

echo "demo: the demo IdP runs at http://$addr (users: alice, bob); profile in $dir/config.toml"
echo "demo: approve in a browser, or from another terminal with:"
echo "        curl -d user_code=<CODE> -d user=alice -d action=approve http://$addr/device"
echo
bin/idplug --config "$dir/config.toml" login "$@"
echo
bin/idplug --config "$dir/config.toml" whoami
