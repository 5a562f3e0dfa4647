# test/lib/roots.sh -- the Debian environments of the other server versions
#
# Sourced by test/check.sh, after prepare.sh.  Owns the Debian roots in which
# the suite runs for a PostgreSQL major version that the machine's own Debian
# release does not ship:
#
#     13  bullseye (Debian 11)      15  bookworm (Debian 12)
#     17  trixie (Debian 13)        18  sid (unstable)
#
# A root is a directory made by mmdebstrap with that release's packages of
# the server, its development files, pgTAP and the Perl test modules.  Roots
# are kept under TG_ROOTS (default /var/cache/transfer_guard-roots), outside
# the checkout, one directory per release, and reused when present: a run
# installs what is missing into the root with apt-get (inside it), and
# builds the root first when there is none.  A run takes the root's lock
# (TG_ROOTS/<release>.lock) for its whole length, so two runs never share a
# root at once; the second waits.
#
# A run copies the work tree into the root's /tmp, mounts /proc and /dev into
# the root, runs test/check.sh there with chroot (which builds, installs into
# the root's PostgreSQL and runs the steps in a pg_virtualenv cluster, as on
# the machine itself), and unmounts and removes the copy afterwards, also
# when the run fails or is interrupted.  Mounting and chroot need root: the
# commands go through sudo when not run as root.

TG_ROOTS=${TG_ROOTS:-/var/cache/transfer_guard-roots}
TG_MIRROR=${TG_MIRROR:-http://deb.debian.org/debian}

# The Debian release that ships a major version: tg_suite_of MAJOR
tg_suite_of()
{
	case $1 in
		13) echo bullseye ;;
		15) echo bookworm ;;
		17) echo trixie ;;
		18) echo sid ;;
		*) return 1 ;;
	esac
}

# True when this machine (or the root we run in) is the Debian release of
# that major version, so the suite runs here without a root.
tg_is_local_suite()
{
	local suite codename=

	suite=$(tg_suite_of "$1") || return 1
	if [ -r /etc/os-release ]; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	fi
	if [ "$suite" = sid ]; then
		# unstable names itself after the next release, or not at all
		grep -q '/sid' /etc/debian_version 2>/dev/null
	else
		[ "$codename" = "$suite" ]
	fi
}

# Make the root of a release with the packages given: tg_root_create DIR SUITE PKG...
# Built beside its final place and renamed at the end, so that an
# interrupted build never leaves a half root that looks usable.
tg_root_create()
{
	local dir=$1 suite=$2 include aptopt=()
	shift 2

	tg_install_packages mmdebstrap || return
	include=$(IFS=,; echo "$*")
	if [ "$suite" = sid ]; then
		# its Release file may be past Valid-Until on a mirror snapshot
		aptopt=(--aptopt='Acquire::Check-Valid-Until "false"')
	fi
	rm -rf "$dir.new"
	tg_say "root: creating $dir ($suite, mmdebstrap, a few minutes)"
	tg_as_root mkdir -p "$(dirname "$dir")" || return
	tg_as_root mmdebstrap --quiet --variant=apt "${aptopt[@]}" \
		--include="$include" "$suite" "$dir.new" "$TG_MIRROR" || {
		tg_as_root rm -rf "$dir.new"
		return 1
	}
	tg_as_root mv "$dir.new" "$dir"
}

# Run test/check.sh for one major version in its root:
#   tg_root_run MAJOR RESULTS STEP...
# RESULTS is a file (outside the root) that receives the steps' figures, one
# "step passed failed" line each, as test/check.sh records them.  Returns
# the inner run's status.
tg_root_run()
{
	local major=$1 results=$2 suite dir
	shift 2

	suite=$(tg_suite_of "$major") || {
		echo "test/check.sh: no Debian release known for PostgreSQL $major" >&2
		return 2
	}
	dir=$TG_ROOTS/$suite
	tg_as_root mkdir -p "$TG_ROOTS" || return
	# the lock: fd 8, held by this subshell until it exits
	(
		exec 8>"$TG_ROOTS/$suite.lock"
		if ! flock -n 8; then
			tg_say "root: $dir is in use by another run; waiting for it"
			flock 8
		fi
		if [ ! -x "$dir/usr/lib/postgresql/$major/bin/postgres" ]; then
			tg_root_create "$dir" "$suite" \
				"${TG_BUILD_PACKAGES[@]}" "${TG_TEST_PACKAGES[@]}" || exit 1
		else
			tg_say "root: reusing $dir"
		fi
		tg_root_chroot "$dir" "$major" "$results" "$@"
	)
}

# The part of tg_root_run that holds the mounts, run in its subshell: the
# EXIT trap unmounts them and removes the copy of the tree.
tg_root_chroot()
{
	local dir=$1 major=$2 results=$3 inner citus status=0
	shift 3

	inner=$(mktemp -d "$dir/tmp/transfer_guard.XXXXXX") || exit 1
	trap "tg_root_cleanup $(printf '%q %q' "$dir" "$inner")" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	chmod 755 "$inner"
	tg_copy_tree "$inner/src" || exit 1
	# Citus's source, where the citus step looks for it (beside the tree)
	if citus=$("$TG_ROOT/test/citus/cluster.sh" source); then
		mkdir -p "$inner/shared" && cp -r "$citus" "$inner/shared/citus" || exit 1
	fi
	# apt inside the root resolves names as the machine does
	tg_as_root cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true

	# leftovers of a run that was killed before its trap ran
	tg_root_unmount "$dir"
	tg_as_root mount -t proc proc "$dir/proc" || exit 1
	tg_as_root mount --rbind /dev "$dir/dev" || exit 1
	# so that unmounting the copies never unmounts the machine's own
	# /dev/pts or /dev/shm
	tg_as_root mount --make-rslave "$dir/dev" || exit 1

	tg_as_root chroot "$dir" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI="${CI:-}" \
		${PG_CFLAGS+PG_CFLAGS="$PG_CFLAGS"} \
		${TG_FUZZ_SECONDS:+TG_FUZZ_SECONDS="$TG_FUZZ_SECONDS"} \
		${TG_FUZZ_SEED:+TG_FUZZ_SEED="$TG_FUZZ_SEED"} \
		${TG_CRASHES:+TG_CRASHES="$TG_CRASHES"} \
		${TG_NO_BUILD:+TG_NO_BUILD="$TG_NO_BUILD"} \
		TG_IN_ROOT="$major" \
		TG_RESULTS_OUT="${inner#"$dir"}/results" \
		bash "${inner#"$dir"}/src/test/check.sh" --pg "$major" "$@" || status=$?
	if [ -f "$inner/results" ]; then
		cp "$inner/results" "$results"
	fi
	exit $status
}

tg_root_unmount()
{
	local dir=$1

	if mountpoint -q "$dir/dev"; then
		tg_as_root umount -R "$dir/dev" 2>/dev/null ||
			tg_as_root umount -R -l "$dir/dev"
	fi
	if mountpoint -q "$dir/proc"; then
		tg_as_root umount "$dir/proc" 2>/dev/null ||
			tg_as_root umount -l "$dir/proc"
	fi
}

tg_root_cleanup()
{
	tg_root_unmount "$1"
	tg_as_root rm -rf "$2"
}
