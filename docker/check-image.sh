#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Docker image with podman and check it as a user would: its
# version, the README's console lines, and the compose trial's scribe
# service (the user, entrypoint, command, restart policy and volume of
# docker/compose.yml) logging in to the test homeserver and syncing.
# Then the systemd units, under systemd in a container: verify,
# security, a command answered, the site exported. Last, a rebuild after
# a source change, which must take the curl layer from the cache. Not
# part of `make check`: it takes minutes. Run as root on Debian
# bookworm, from anywhere:
#
#   sh docker/check-image.sh
#
# Installs podman, runc, debootstrap and python3-yaml when missing. With
# no debian:bookworm and debian:bookworm-slim images at hand (this
# machine reaches no registry), it makes them with debootstrap
# --variant=minbase from apt's Debian mirror, cleaned and slimmed as
# Debian's official images are. The image is left as `scribe`
# (localhost/scribe); containers, other images and temporary files are
# removed however the script ends. Every step has a time limit; the
# first failure stops it with "check-image: FAILED: STEP" and the end of
# that step's output. docs/deploy.md "Checking the image and the units"
# has what it printed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
image=${SCRIBE_IMAGE:-localhost/scribe:latest}
start=$(date +%s)
tmp=
hs_pid=
say() { echo "check-image: $*" >&2; }
fail() {
	say "FAILED: $*"
	exit 1
}
cleanup() {
	set +e
	for c in $(podman ps -a --format '{{.Names}}' --filter name=scribe-check- 2>/dev/null); do
		podman rm -f -t 0 "$c" >/dev/null 2>&1
	done
	[ -n "$hs_pid" ] && kill "$hs_pid" 2>/dev/null
	podman rmi scribe-check-rebuild scribe-check-units >/dev/null 2>&1
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[ "$(id -u)" -eq 0 ] || fail "run it as root (podman, debootstrap)"
tmp=$(mktemp -d /tmp/scribe-check-image.XXXXXX)
out=$tmp/step.log

# step SECONDS WHAT COMMAND...: run COMMAND with a time limit, its output
# in $out; on failure show the end of it and stop
step() {
	limit=$1 what=$2
	shift 2
	t=$(date +%s)
	if ! timeout -k 10 "$limit" "$@" >"$out" 2>&1; then
		tail -n 40 "$out" >&2
		fail "$what"
	fi
	say "$what: ok ($(($(date +%s) - t)) s)"
}
expect() { # FILE TEXT: FILE must hold the line part TEXT
	grep -qF -- "$2" "$1" || {
		cat "$1" >&2
		fail "'$2' missing"
	}
}

# --- 1. tools ---------------------------------------------------------------
missing=
for p in podman runc debootstrap python3 python3-yaml; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	step 900 "installing$missing" sh -c "apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing"
fi
py=/usr/bin/python3
# podman gives a container a file limit of 1,048,576 (podman build: a
# process limit of 32,768) unless told, which root may not raise to on a
# VM or in a sandbox: every RUN fails with "error setting rlimit". The
# shell's hard file limit fits; the process limit of 32,768 did here.
nofile=$(awk '/^Max open files/ { print $5 }' /proc/self/limits)
nproc=$(awk '/^Max processes/ { print $4 }' /proc/self/limits)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
ulimits="--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"

# --- 2. base images ---------------------------------------------------------
if ! podman image exists docker.io/library/debian:bookworm ||
	! podman image exists docker.io/library/debian:bookworm-slim; then
	mirror=${DEBIAN_MIRROR:-}
	if [ -z "$mirror" ]; then
		# shellcheck disable=SC2016 # apt's $(FIELD), not the shell's
		mirror=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
			awk '$1 == "bookworm" { print $2; exit }')
		mirror=${mirror:-http://deb.debian.org/debian}
	fi
	root=$tmp/root
	step 900 "debootstrap bookworm from $mirror" \
		debootstrap --variant=minbase bookworm "$root" "$mirror"
	# as Debian's images are: no package lists or .debs, every suite
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/*.log \
		"$root"/etc/apt/sources.list
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: ${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
		Suites: bookworm-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	step 300 "importing debian:bookworm" sh -c "tar -C '$root' -c . |
		podman import --change 'CMD [\"bash\"]' - docker.io/library/debian:bookworm"
	# -slim: debuerreotype's --slimify, docs and translations left out
	# now and by dpkg from then on
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<-EOF
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/groff/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/linda/*
		path-exclude /usr/share/lintian/overrides/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/man/*
	EOF
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	rm -rf "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/linda/* \
		"$root"/usr/share/lintian/overrides/* "$root"/usr/share/locale/* "$root"/usr/share/man/*
	step 300 "importing debian:bookworm-slim" sh -c "tar -C '$root' -c . |
		podman import --change 'CMD [\"bash\"]' - docker.io/library/debian:bookworm-slim"
	rm -rf "$root"
fi
slim=$(podman image inspect -f '{{.Size}}' docker.io/library/debian:bookworm-slim)

# --- 3. the image -----------------------------------------------------------
cd "$top"
# shellcheck disable=SC2086
step 2400 "podman build -f docker/Dockerfile -t $image ." \
	podman build $ulimits --pull=never -f docker/Dockerfile -t "$image" .
size=$(podman image inspect -f '{{.Size}}' "$image")
say "image $image: $((size / 1000000)) MB ($((slim / 1000000)) MB of it the base image)"

run="podman run --rm $ulimits"
# shellcheck disable=SC2086
step 60 "scribe --version" $run --name scribe-check-version "$image" --version
expect "$out" "scribe "
expect "$out" "mbedTLS/"
# shellcheck disable=SC2086
step 60 "id" $run --name scribe-check-id --entrypoint id "$image"
expect "$out" "uid=10001(scribe) gid=10001(scribe)"

# the README's quick start, on the image's own volume
printf '%s\n' '!todo @elon pick tracker due:fri' '!decide use Linear because it is fast' \
	'!log upgraded nginx #web1' '!changelog #web1' '!todos' '/quit' >"$tmp/console.in"
step 60 "scribe console, the README's lines" \
	sh -c "$run -i --name scribe-check-console '$image' console --members elon,bob,dc <'$tmp/console.in'"
expect "$out" "Recorded T1 pick tracker — elon (due Fri"
expect "$out" "Recorded decision D1: use Linear (because it is fast)"
expect "$out" "Logged C1 upgraded nginx #web1"
expect "$out" "upgraded nginx #web1"
expect "$out" "  T1 pick tracker (due Fri"

# --- 4. the compose trial's scribe side ---------------------------------------
# What compose would run, read from docker/compose.yml: user, entrypoint,
# command, restart policy and volume; the Synapse image pinned.
step 30 "docker/compose.yml" "$py" - "$top/docker/compose.yml" "$tmp/compose.sh" <<'EOF'
import json, shlex, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s, syn = doc["services"]["scribe"], doc["services"]["synapse"]
assert syn["image"].endswith("matrixdotorg/synapse:v1.160.0"), syn["image"]
assert s["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}, s["build"]
assert "./data/scribe:/var/lib/scribe" in s["volumes"], s["volumes"]
assert s["depends_on"]["synapse"]["condition"] == "service_healthy"
policy, _, tries = s["restart"].partition(":")
assert policy == "on-failure" and 0 < int(tries) <= 10, s["restart"]
unesc = lambda w: w.replace("$$", "$")  # compose's escape of a literal $
with open(sys.argv[2], "w") as f:
    f.write("user=%s\n" % shlex.quote(str(s["user"])))
    f.write("entrypoint=%s\n" % shlex.quote(json.dumps([unesc(w) for w in s["entrypoint"]])))
    f.write("restart=%s\n" % shlex.quote(s["restart"]))
    f.write("set -- %s\n" % " ".join(shlex.quote(unesc(w)) for w in s["command"]))
EOF
# shellcheck disable=SC1091
. "$tmp/compose.sh"
# the trial's secrets are never offered for a commit
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	for f in docker/data/scribe/password docker/data/synapse/homeserver.yaml; do
		git -C "$top" check-ignore -q "$f" || fail "$f is not in .gitignore"
	done
fi
cmd="$*"

"$py" "$top/tests/homeserver/hs.py" --port 0 --users alice:pw-alice,scribe:pw-scribe \
	>"$tmp/hs.out" 2>"$tmp/hs.err" &
hs_pid=$!
i=0
until grep -q LISTENING "$tmp/hs.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the test homeserver did not start: $(cat "$tmp/hs.err")"
	sleep 0.1
done
port=$(awk '/LISTENING/ { print $2 }' "$tmp/hs.out")
say "test homeserver on 127.0.0.1:$port"

# docker/data/scribe as a user makes it (docs/deploy.md), or as Docker
# does for a missing one: root's, bot.conf and password written by root
data=$tmp/data/scribe
mkdir -p "$data"
cat >"$data/bot.conf" <<EOF
[matrix]
homeserver = http://127.0.0.1:$port
user_id = @scribe:localhost
password_file = /var/lib/scribe/password
access_token_file = /var/lib/scribe/access-token

[store]
path = /var/lib/scribe/scribe.db

[bot]
allowed_inviters = @alice:localhost
EOF
(umask 077 && echo pw-scribe >"$data/password")
# shellcheck disable=SC2086,SC2154 # $run: words; the rest from compose.sh
step 60 "compose run --rm scribe login -c /var/lib/scribe/bot.conf" \
	$run --name scribe-check-login --network host --user "$user" --entrypoint "$entrypoint" \
	-v "$data:/var/lib/scribe" "$image" login -c /var/lib/scribe/bot.conf
[ "$(stat -c '%u:%g %a' "$data" "$data/access-token" "$data/password" | tr '\n' ' ')" = \
	"10001:10001 700 10001:10001 600 10001:10001 600 " ] ||
	fail "owners and modes in the volume: $(ls -lan "$data")"

# shellcheck disable=SC2086,SC2154
step 60 "compose up scribe ($cmd, restart $restart)" \
	podman run -d --name scribe-check-run $ulimits --network host --user "$user" \
	--restart "$restart" --entrypoint "$entrypoint" -v "$data:/var/lib/scribe" \
	"$image" "$@"
# it syncs with the token login wrote, as the image's user
i=0
until "$py" - "$port" <<'EOF'; do
import json, sys, urllib.request
log = json.load(urllib.request.urlopen(
    "http://127.0.0.1:%s/_test/requests" % sys.argv[1], timeout=5))["requests"]
sys.exit(0 if any("/sync" in r["path"] and r["status"] == 200 for r in log) else 1)
EOF
	i=$((i + 1))
	[ $i -lt 60 ] || {
		podman logs scribe-check-run >&2
		fail "scribe run did not sync"
	}
	sleep 0.5
done
uid=$(podman exec scribe-check-run awk '/^Uid:/ { print $2 }' /proc/1/status)
[ "$uid" = 10001 ] || fail "scribe run runs as uid $uid, not 10001"
say "scribe run syncs, as uid $uid"
step 60 "podman stop -t 45 (SIGTERM)" podman stop -t 45 scribe-check-run
code=$(podman inspect -f '{{.State.ExitCode}}' scribe-check-run)
[ "$code" = 0 ] || {
	podman logs scribe-check-run >&2
	fail "scribe run exited $code after SIGTERM"
}
podman rm scribe-check-run >/dev/null

# --- 5. the systemd units ----------------------------------------------------
# The image, systemd added, as a machine of its own (systemd as PID 1; it
# must be privileged to set up the units' sandboxes): the README's steps,
# then scribe.service answering a command and scribe-export.service
# writing the site, under their sandboxes.
mkdir "$tmp/units"
cp "$top/docker/scribe.service" "$top/docker/scribe-export.service" \
	"$top/docker/scribe-export.timer" "$tmp/units/"
cat >"$tmp/units/Containerfile" <<EOF
FROM $image
USER root
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends systemd && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY scribe.service scribe-export.service scribe-export.timer /etc/systemd/system/
ENTRYPOINT ["/lib/systemd/systemd"]
CMD []
EOF
# shellcheck disable=SC2086
step 600 "an image with systemd" \
	podman build $ulimits --pull=never -t scribe-check-units "$tmp/units"
# shellcheck disable=SC2086
step 60 "systemd in a container" podman run -d --name scribe-check-units $ulimits \
	--systemd=always --privileged --network host scribe-check-units
i=0
until podman exec scribe-check-units systemctl is-system-running 2>/dev/null |
	grep -qx -e running -e degraded; do
	i=$((i + 1))
	[ $i -lt 60 ] || fail "systemd in the container did not start"
	sleep 0.5
done
units="podman exec -i scribe-check-units"
sed -e 's|/var/lib/scribe/password|/etc/scribe/password|' "$data/bot.conf" >"$tmp/units/bot.conf"
# shellcheck disable=SC2086
step 60 "the README's folders and login" $units sh -c '
	install -d -o root -g scribe -m 0750 /etc/scribe &&
	install -o root -g scribe -m 0640 /dev/stdin /etc/scribe/bot.conf &&
	echo pw-scribe | install -o scribe -g scribe -m 0600 /dev/stdin /etc/scribe/password &&
	runuser -u scribe -- scribe login -c /etc/scribe/bot.conf' <"$tmp/units/bot.conf"
# shellcheck disable=SC2086
step 60 "systemd-analyze verify" $units systemd-analyze verify --man=no \
	/etc/systemd/system/scribe.service /etc/systemd/system/scribe-export.service \
	/etc/systemd/system/scribe-export.timer
# shellcheck disable=SC2086
step 60 "systemd-analyze security, at most 2.0" $units systemd-analyze security \
	--threshold=20 --no-pager scribe.service scribe-export.service
tail -n 3 "$out" >&2
# shellcheck disable=SC2086
step 60 "systemctl start scribe" $units systemctl start scribe
step 60 "scribe.service answers in a room" "$py" - "$port" "$top" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[2] + "/tests/homeserver")
from client import Client
alice = Client.login("http://127.0.0.1:" + sys.argv[1], "alice", "pw-alice")
room = alice.create_room(name="ops", invite=["@scribe:localhost"])
def wait(what, done):
    end = time.time() + 30
    while time.time() < end:
        if done():
            return
        time.sleep(0.3)
    sys.exit("scribe.service " + what)
wait("did not join", lambda: "@scribe:localhost" in alice.joined_members(room))
alice.send_text(room, "!todo @alice check the units")
wait("did not answer", lambda: any(
    e.get("sender") == "@scribe:localhost" and
    e.get("content", {}).get("body", "").startswith("Recorded T1 check the units")
    for e in alice.get_messages(room, limit=20).get("chunk", [])))
EOF
# shellcheck disable=SC2016,SC2086 # $(...) for the inner shell
step 60 "systemctl start scribe-export" $units sh -c '
	systemctl start scribe-export &&
	test "$(stat -c "%U %a" /var/lib/scribe-site/index.html)" = "scribe 644" &&
	grep -q "<html" /var/lib/scribe-site/index.html'
# shellcheck disable=SC2016,SC2086 # $(...) for the inner shell
step 60 "systemctl stop scribe (exit 0)" $units sh -c '
	systemctl stop scribe &&
	test "$(systemctl show -P ExecMainStatus scribe)" = 0 &&
	test "$(systemctl show -P Result scribe)" = success'
podman rm -f -t 0 scribe-check-units >/dev/null

# --- 6. a rebuild after a source change -------------------------------------
# in a copy of the checkout (what git would commit), one source file changed
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mkdir "$tmp/ctx"
	git -C "$top" ls-files -z -co --exclude-standard |
		tar -C "$top" --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null |
		tar -C "$tmp/ctx" -xf -
	echo "/* check-image: a change */" >>"$tmp/ctx/src/main.c"
	cd "$tmp/ctx"
	podman images -a -q --no-trunc | sort >"$tmp/images.before"
	# shellcheck disable=SC2086
	step 900 "rebuild after a change to src/main.c" \
		podman build $ulimits --pull=never -f docker/Dockerfile -t scribe-check-rebuild .
	grep -A1 "build-curl.sh build-curl" "$out" | grep -q "Using cache" ||
		fail "the rebuild built curl again"
	# its layers are of no further use: only the cache of the real build stays
	podman images -a -q --no-trunc | sort | comm -13 "$tmp/images.before" - >"$tmp/images.new"
	# shellcheck disable=SC2046
	podman rmi $(cat "$tmp/images.new") >/dev/null 2>&1 || true
	cd "$top"
fi

say "all checks passed in $(($(date +%s) - start)) s"
