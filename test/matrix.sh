#!/usr/bin/env bash
# test/matrix.sh -- every suite on every supported PostgreSQL, each in a Debian
# chroot with Debian's own PostgreSQL packages.
#
#   bash test/matrix.sh run [VERSION...]   `bash test/run.sh test` in the chroot
#                                          of each VERSION (default: all), then a
#                                          summary; `bash test/run.sh matrix` is this
#   bash test/matrix.sh run-tree TREE [VERSION...]  the same for another tree
#   bash test/matrix.sh build TREE VERSION compile TREE (-Werror) in VERSION's
#                                          chroot; installs nothing, safe to run
#                                          concurrently
#   bash test/matrix.sh shell VERSION [CMD...]  a shell (or CMD) in the chroot
#   bash test/matrix.sh path VERSION       make sure the chroot is ready, print it
#
# VERSION is a PostgreSQL major version: 15 (Debian 12 "bookworm"), 17 (Debian
# 13 "trixie") or 18 (Debian unstable "sid").
#
# The chroots are made with mmdebstrap from the Debian mirror the host's apt
# uses, and cached: /var/cache/crm_privacy-matrix/SUITE as root, else
# ~/.cache/crm_privacy-matrix/SUITE (CRM_MATRIX_CACHE overrides).  A chroot is
# rebuilt when it is missing or broken; when its packages are more than a day
# old they are upgraded (a failed upgrade keeps the cached chroot).
#
# Each command runs in private namespaces (mount, PID, IPC): the chroot's /proc
# and /dev are mounted in that namespace only, so they vanish with it however
# the run ends (and are unmounted on exit as well).  The tree is copied into
# the chroot's /tmp and the tests run there as an unprivileged user of the
# chroot, so nothing is installed into the chroot's PostgreSQL and several
# runs may share a chroot.
#
# As root this always works.  As another user it needs unprivileged user
# namespaces and subordinate IDs (/etc/subuid) for mmdebstrap's unshare mode;
# without them `run` tests the host's PostgreSQL only and says so.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSIONS=(15 17 18)
declare -A SUITE=([15]=bookworm [17]=trixie [18]=sid)
declare -A DEBIAN=([15]="Debian 12" [17]="Debian 13" [18]="Debian unstable")

if [ "$(id -u)" -eq 0 ]; then
	CACHE=${CRM_MATRIX_CACHE:-/var/cache/crm_privacy-matrix}
else
	CACHE=${CRM_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crm_privacy-matrix}
fi
STAMP=.crm_privacy-matrix-ready   # in a chroot's root: written when it is complete
CHROOT_USER=crm                   # the unprivileged user the tests run as

say() { printf '\n== %s\n' "$*" >&2; }
banner() {
	local line
	line=$(printf '%*s' 72 '' | tr ' ' '#')
	printf '\n%s\n### %s\n%s\n' "$line" "$*" "$line" >&2
}
die() { echo "matrix: $*" >&2; exit 2; }

packages() {
	local p="make gcc perl libtap-parser-sourcehandler-pgtap-perl postgresql-$1 postgresql-server-dev-$1 postgresql-$1-pgtap"
	# what building Citus needs (test/citus_cluster.sh), where Citus runs
	case "$1" in 15|17) p="$p libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libpam0g-dev libicu-dev autoconf flex bison" ;; esac
	echo "$p"
}

valid_version() { [ -n "${SUITE[$1]:-}" ] || die "unknown PostgreSQL version '$1' (supported: ${VERSIONS[*]})"; }

# The Debian mirror the host's apt uses (its first deb822 stanza or
# sources.list line that is not the security archive).
mirror() {
	local url
	url=$(awk '
		/^[[:space:]]*$/ { if (uri != "" && uri !~ /security/) { print uri; exit } uri = ""; next }
		tolower($1) == "uris:" { uri = $2 }
		END { if (uri != "" && uri !~ /security/) print uri }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	if [ -z "$url" ] && [ -r /etc/apt/sources.list ]; then
		url=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/) { if ($i !~ /security/) { print $i; exit } break } }' \
			/etc/apt/sources.list)
	fi
	[ -n "$url" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
	echo "$url"
}

# How chroots can be made and entered here: root, unshare (a plain user with
# user namespaces and subordinate IDs) or none.
MODE=
detect_mode() {
	[ -n "$MODE" ] && return 0
	if [ "$(id -u)" -eq 0 ]; then
		MODE=root
	elif command -v mmdebstrap >/dev/null && command -v newuidmap >/dev/null &&
		grep -qs "^$(id -un):" /etc/subuid && grep -qs "^$(id -un):" /etc/subgid &&
		unshare --map-auto --map-root-user --mount --pid --fork true 2>/dev/null; then
		MODE=unshare
	else
		MODE=none
	fi
}

# ns CMD...: run CMD as root in private mount, PID and IPC namespaces (in a
# user namespace mapping our subordinate IDs when not root).
ns() {
	if [ "$MODE" = root ]; then
		unshare --mount --pid --ipc --fork --propagation private -- "$@"
	else
		unshare --map-auto --map-root-user --mount --pid --ipc --fork --propagation private -- "$@"
	fi
}

# in_chroot DIR CMD...: run CMD as root inside the chroot DIR with its /proc
# and /dev mounted, a minimal environment, and our stdin.
in_chroot() {
	local dir=$1; shift
	ns bash -c '
		set -e
		r=$1; shift
		trap "umount -l \"\$r/dev\" \"\$r/proc\" 2>/dev/null || true" EXIT
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
		chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive "$@"
	' in_chroot "$dir" "$@"
}

# Remove a directory made by mmdebstrap (owned by subordinate IDs in unshare mode).
remove_tree() {
	[ -e "$1" ] || return 0
	if [ "$MODE" = root ]; then rm -rf "$1"; else ns rm -rf "$1"; fi
}

ensure_tools() {
	command -v mmdebstrap >/dev/null && return 0
	[ "$(id -u)" -eq 0 ] || die "mmdebstrap is missing: apt-get install mmdebstrap uidmap (as root)"
	say "installing mmdebstrap"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap uidmap arch-test gpg debian-archive-keyring >/dev/null
}

# ready VERSION: make sure VERSION's chroot exists, works and is no more than
# a day old; print its path.  Status 1 (and a reason on stderr) when Debian
# cannot provide it now.
ready() {
	local v=$1 suite=${SUITE[$1]} dir lock
	dir=$CACHE/$suite
	lock=$CACHE/$suite.lock
	mkdir -p "$CACHE"
	# The usual case, a complete and fresh chroot, takes no lock; making or
	# upgrading one waits for the runs using it (they hold the lock shared).
	if [ -e "$dir/$STAMP" ] && [ -z "$(find "$dir/$STAMP" -mmin +1440)" ] &&
		in_chroot "$dir" dpkg-query -W $(packages "$v") >/dev/null 2>&1; then
		echo "$dir"
		return 0
	fi
	(
		flock 9
		if [ -e "$dir/$STAMP" ] && ! in_chroot "$dir" pg_config --version >/dev/null 2>&1; then
			say "the cached $suite chroot is broken: rebuilding it"
			remove_tree "$dir/$STAMP"
		fi
		if [ ! -e "$dir/$STAMP" ]; then
			remove_tree "$dir"
			remove_tree "$dir.new"
			local url
			url=$(mirror)
			say "making the $suite chroot (PostgreSQL $v) in $dir from $url"
			ensure_tools
			local opts=(--mode="$MODE" --variant=apt --include="$(packages "$v" | tr ' ' ,)"
				--customize-hook="chroot \"\$1\" useradd --create-home --shell /bin/bash $CHROOT_USER")
			local ok=0
			mmdebstrap "${opts[@]}" "$suite" "$dir.new" "deb $url $suite main" >"$CACHE/$suite.log" 2>&1 || ok=$?
			if [ "$ok" -ne 0 ] && grep -q 'Release file .* is expired' "$CACHE/$suite.log"; then
				# The mirror's copy of the suite is older than its Valid-Until
				# (unstable's Release files expire after a week).  Still
				# signed by Debian: use it, and say so.
				banner "WARNING: the mirror's $suite Release file has expired; making the chroot without the Valid-Until check"
				remove_tree "$dir.new"
				ok=0
				mmdebstrap "${opts[@]}" --aptopt='Acquire::Check-Valid-Until "false"' \
					"$suite" "$dir.new" "deb $url $suite main" >"$CACHE/$suite.log" 2>&1 || ok=$?
			fi
			if [ "$ok" -ne 0 ]; then
				tail -n 25 "$CACHE/$suite.log" >&2
				remove_tree "$dir.new"
				echo "mmdebstrap could not make the $suite chroot with $(packages "$v"): $(grep -m 1 '^E: ' "$CACHE/$suite.log" || echo 'see the log') (log: $CACHE/$suite.log)" >&2
				exit 1
			fi
			mv "$dir.new" "$dir"
			in_chroot "$dir" touch "/$STAMP"
		elif ! in_chroot "$dir" dpkg-query -W $(packages "$v") >/dev/null 2>&1; then
			# a cached chroot made before a package joined the list
			say "installing the packages the $suite chroot lacks"
			if ! in_chroot "$dir" sh -c "printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
				chmod 755 /usr/sbin/policy-rc.d && apt-get update -qq &&
				apt-get install -y -qq --no-install-recommends $(packages "$v")" >"$CACHE/$suite.log" 2>&1; then
				tail -n 5 "$CACHE/$suite.log" >&2
				echo "could not install $(packages "$v") into the $suite chroot (log: $CACHE/$suite.log)" >&2
				exit 1
			fi
			in_chroot "$dir" touch "/$STAMP"
		elif [ -n "$(find "$dir/$STAMP" -mmin +1440)" ]; then
			say "upgrading the PostgreSQL packages of the $suite chroot"
			# (policy-rc.d: the upgrade starts no server in the chroot.)
			if in_chroot "$dir" sh -c "printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
				chmod 755 /usr/sbin/policy-rc.d && apt-get update -qq &&
				apt-get install -y -qq --only-upgrade $(packages "$v")" >"$CACHE/$suite.log" 2>&1; then
				in_chroot "$dir" touch "/$STAMP"
			else
				tail -n 5 "$CACHE/$suite.log" >&2
				say "upgrade failed: using the cached $suite chroot as it is"
			fi
		fi
	) 9>"$lock" || return 1
	echo "$dir"
}

# Copy TREE (without git metadata and build products) into a fresh directory
# of the chroot's /tmp owned by the chroot's test user, then run SCRIPT there
# (as that user, with bash -c).
run_tree() {
	local dir=$1 tree=$2 script=$3
	# Hold the chroot's lock shared: no upgrade under a running build or test.
	exec 8<>"$dir.lock"
	flock -s 8
	# with the Citus source the tests build (test/citus_cluster.sh), as .vendor/
	local vendor extra=()
	vendor=$(mktemp -d /tmp/crm_privacy-vendor.XXXXXX)
	local tarball
	tarball=$(ROOT=$tree bash -c '. "$ROOT/test/citus_cluster.sh"; citus_tarball' 2>/dev/null || true)
	if [ -n "$tarball" ]; then
		mkdir "$vendor/.vendor"
		cp "$tarball" "$vendor/.vendor/"
		[ -f "$(dirname "$tarball")/SHA256SUMS" ] && cp "$(dirname "$tarball")/SHA256SUMS" "$vendor/.vendor/"
		extra=(-C "$vendor" .vendor)
	fi
	tar -C "$tree" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=results --exclude=regression.diffs --exclude=regression.out -cf - . "${extra[@]}" |
	in_chroot "$dir" sh -c '
		set -e
		d=$(mktemp -d /tmp/crm_privacy-tree.XXXXXX)
		trap "rm -rf \"$d\"" EXIT
		chmod 755 "$d"
		tar -xf - -C "$d" --no-same-owner
		chown -R '"$CHROOT_USER:$CHROOT_USER"' "$d"
		runuser -u '"$CHROOT_USER"' -- bash -c "cd \"$d\" && $1" </dev/null
	' run_tree "$script"
	local rc=$?
	rm -rf "$vendor"
	flock -u 8
	exec 8>&-
	return $rc
}

cmd_build() {
	local tree=$1 v=$2 dir
	valid_version "$v"
	[ -f "$tree/Makefile" ] || die "$tree has no Makefile"
	detect_mode
	[ "$MODE" != none ] || die "chroots need root or unprivileged user namespaces here"
	dir=$(ready "$v") || exit 1
	say "building $tree on PostgreSQL $v ($dir)"
	run_tree "$dir" "$(cd "$tree" && pwd)" 'pg_config --version && make -s -k WERROR=1 && echo "build OK"'
}

cmd_run() {
	local versions=("$@") v dir log rc p f
	[ ${#versions[@]} -gt 0 ] || versions=("${VERSIONS[@]}")
	for v in "${versions[@]}"; do valid_version "$v"; done
	detect_mode
	local tp=0 tf=0 summary=() skipped=0
	mkdir -p "$CACHE"
	if [ "$MODE" = none ]; then
		local host
		host=$(ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
		banner "NOT RUN: the chroots of PostgreSQL ${versions[*]} need root (or unprivileged user namespaces and /etc/subuid): testing the host's PostgreSQL ${host:-?} only"
		log=$(mktemp /tmp/crm_privacy-matrix.XXXXXX)
		rc=0
		bash "$TREE/test/run.sh" test 2>&1 | tee "$log" || rc=$?
		read -r p f < <(counts "$log" "$rc")
		rm -f "$log"
		banner "NOT RUN: the chroots of PostgreSQL ${versions[*]} (need root); host PostgreSQL ${host:-?}: $p passed, $f failed"
		echo "$p passed, $f failed"
		[ "$f" -eq 0 ]
		return
	fi
	for v in "${versions[@]}"; do
		banner "PostgreSQL $v (${DEBIAN[$v]} \"${SUITE[$v]}\")"
		local why err
		err=$(mktemp /tmp/crm_privacy-matrix.XXXXXX)
		if ! dir=$(ready "$v" 2> >(tee "$err" >&2)); then
			sleep 1   # let tee finish
			why=$(tail -n 1 "$err")
			rm -f "$err"
			banner "SKIPPED PostgreSQL $v: $why"
			summary+=("PostgreSQL $v: SKIPPED ($why)")
			skipped=$((skipped + 1))
			continue
		fi
		rm -f "$err"
		log=$(mktemp /tmp/crm_privacy-matrix.XXXXXX)
		rc=0
		run_tree "$dir" "$TREE" 'rc=0; bash test/run.sh test || rc=1; bash test/run.sh citus || rc=1; exit $rc' 2>&1 |
			tee "$log" || rc=$?
		read -r p f < <(counts "$log" "$rc")
		rm -f "$log"
		echo "PostgreSQL $v: $p passed, $f failed"
		summary+=("PostgreSQL $v: $p passed, $f failed")
		tp=$((tp + p)); tf=$((tf + f))
	done
	banner "matrix summary"
	printf '%s\n' "${summary[@]}"
	[ "$skipped" -eq 0 ] || echo "($skipped version(s) SKIPPED: see above)"
	if [ "$skipped" -eq ${#versions[@]} ]; then
		banner "FAILED: no version could be tested"
		echo
		echo "$tp passed, 1 failed"
		return 1
	fi
	echo
	echo "$tp passed, $tf failed"
	[ "$tf" -eq 0 ]
}

# counts LOG STATUS: "PASSED FAILED", the sums of the "N passed, N failed"
# lines of a run's log (one per run.sh run in it); a run that failed without
# a failure counted counts as one failure.
counts() {
	local line p=0 f=0 lp lf
	while read -r line; do
		lp=${line%% *}
		lf=${line#*, }; lf=${lf%% *}
		p=$((p + lp)); f=$((f + lf))
	done < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" || true)
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	echo "$p $f"
}

cmd=${1:-}
case "$cmd" in
	run) shift; TREE=$ROOT cmd_run "$@" ;;
	run-tree)
		[ $# -ge 2 ] || die "usage: bash test/matrix.sh run-tree TREE [VERSION...]"
		[ -f "$2/test/run.sh" ] || die "$2 has no test/run.sh"
		TREE=$(cd "$2" && pwd); shift 2; cmd_run "$@" ;;
	build) [ $# -eq 3 ] || die "usage: bash test/matrix.sh build TREE VERSION"; cmd_build "$2" "$3" ;;
	path)
		[ $# -eq 2 ] || die "usage: bash test/matrix.sh path VERSION"
		valid_version "$2"; detect_mode
		[ "$MODE" != none ] || die "chroots need root or unprivileged user namespaces here"
		ready "$2"
		;;
	shell)
		[ $# -ge 2 ] || die "usage: bash test/matrix.sh shell VERSION [CMD...]"
		valid_version "$2"; detect_mode
		[ "$MODE" != none ] || die "chroots need root or unprivileged user namespaces here"
		dir=$(ready "$2") || exit 1
		shift 2
		[ $# -gt 0 ] || set -- bash -l
		in_chroot "$dir" "$@"
		;;
	*) die "usage: bash test/matrix.sh run [VERSION...] | run-tree TREE [VERSION...] | build TREE VERSION | shell VERSION [CMD...] | path VERSION" ;;
esac
