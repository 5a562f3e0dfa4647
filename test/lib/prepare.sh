# test/lib/prepare.sh -- shared by test/demo.sh and test/check.sh
#
# Sourced, not run.  Owns the steps both commands take before they touch a
# database: install the Debian packages that are missing, build the
# extension, install it, and run a command inside a throwaway cluster.
#
# Everything targets one PostgreSQL major version explicitly, TG_PG_MAJOR
# (default 15, Debian 12's), so a machine with several server versions (or a
# /usr/bin/pg_config from another one) builds and tests against the right
# one.  test/check.sh --pg sets it; the scripts the steps run read it too.

TG_PG_MAJOR=${TG_PG_MAJOR:-15}
export TG_PG_MAJOR
TG_PG_BINDIR=/usr/lib/postgresql/$TG_PG_MAJOR/bin
TG_PG_CONFIG=$TG_PG_BINDIR/pg_config

# What building and installing needs (postgresql-server-dev pulls in clang
# and llvm, which PGXS uses for the JIT bitcode).
TG_BUILD_PACKAGES=(
	"postgresql-$TG_PG_MAJOR"
	"postgresql-server-dev-$TG_PG_MAJOR"
	make
	gcc
)

# What the test suite needs on top: pgTAP and pg_prove, and IPC::Run for the
# Perl TAP tests.
TG_TEST_PACKAGES=(
	"postgresql-$TG_PG_MAJOR-pgtap"
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
)

# The clients step (test/clients): Django (with psycopg2, which Debian 12's
# Django 3.2 uses), psycopg 3, asyncpg, asgiref; Node.js for node-postgres.
TG_CLIENT_PACKAGES=(
	python3-django
	python3-psycopg2
	python3-psycopg
	python3-asyncpg
	python3-asgiref
	nodejs
)

# The release step: unzip, to look into the release tarball.
TG_RELEASE_PACKAGES=(
	unzip
)

# The citus step: pgrep (procps) to kill a worker and its backends,
# python3 for Citus's build script, and ICU's headers, which the server's
# headers include when the server is built with ICU (Citus's build script
# installs its other build dependencies).
TG_CITUS_PACKAGES=(
	procps
	python3
	libicu-dev
)

# The deb step: building the Debian package (dpkg-buildpackage, debhelper,
# pg_buildext from postgresql-server-dev-all) and running its autopkgtest.
TG_DEB_PACKAGES=(
	build-essential
	dpkg-dev
	debhelper
	postgresql-server-dev-all
)

# The repository root: the parent of the directory holding this file.
TG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

tg_say()
{
	printf '==> %s\n' "$*"
}

# Run a command as root: directly when we are root (as on CI), else via sudo.
tg_as_root()
{
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# Install those of the named Debian packages that are not installed yet.
# Touches apt only when something is missing.
tg_install_packages()
{
	local pkg missing=()

	for pkg in "$@"; do
		if ! dpkg -s "$pkg" 2>/dev/null | grep -qx 'Status: install ok installed'; then
			missing+=("$pkg")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		tg_say "packages: all present"
		return 0
	fi
	tg_say "packages: installing ${missing[*]}"
	tg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return
	tg_as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Build the extension.  PG_CFLAGS, when set, is passed to the compiler (the
# test command sets warnings-as-errors that way on CI); when PG_CFLAGS is set
# the tree is cleaned first, so that every object file is compiled with it.
tg_build()
{
	local make_args=(-C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG")

	if [ -n "${PG_CFLAGS:-}" ]; then
		tg_say "build: make clean; make PG_CFLAGS='$PG_CFLAGS'"
		make -s "${make_args[@]}" clean || return
		make "${make_args[@]}" PG_CFLAGS="$PG_CFLAGS"
	else
		tg_say "build: make"
		make "${make_args[@]}"
	fi
}

# Install the built extension into the PostgreSQL installation.
tg_install()
{
	tg_say "install: make install"
	tg_as_root make -s -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" install
}

# pg_isolation_regress and isolationtester, which PGXS runs the isolation
# tests with.  Debian ships them in postgresql-server-dev-NN from 14 on; for
# 13 (Debian 11) they are built here, once, from Debian's source package of
# the installed server (apt-get source, with the Sources index fetched into a
# private directory, so that the machine's apt configuration stays as it is)
# and installed where PGXS looks for them.  A few minutes; then nothing.
tg_isolation_tools()
{
	local pgxs dir version work status=0

	pgxs=$(dirname "$(dirname "$("$TG_PG_CONFIG" --pgxs)")")	# .../lib/pgxs/src
	dir=$pgxs/test/isolation
	if [ -x "$dir/pg_isolation_regress" ] && [ -x "$dir/isolationtester" ]; then
		return 0
	fi
	tg_say "isolation: building pg_isolation_regress and isolationtester from postgresql-$TG_PG_MAJOR's source"
	tg_install_packages bzip2 xz-utils || return
	version=$(dpkg-query -W -f '${source:Version}' "postgresql-server-dev-$TG_PG_MAJOR") || return
	work=$(mktemp -d -t tg_isolation.XXXXXX)
	chmod 755 "$work"
	(
		set -e
		cd "$work"
		mkdir -p lists/partial cache/archives/partial
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^deb[[:space:]]/deb-src /p' >sources.list
		if [ ! -s sources.list ]; then
			echo "isolation: no \"deb\" line in /etc/apt/sources.list to take the source from" >&2
			exit 1
		fi
		apt_opts=(-q -o Dir::Etc::SourceList="$work/sources.list"
			-o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$work/lists"
			-o Dir::Cache="$work/cache" -o APT::Sandbox::User=root)
		tg_as_root apt-get "${apt_opts[@]}" update >/dev/null
		tg_as_root apt-get "${apt_opts[@]}" source --download-only \
			"postgresql-$TG_PG_MAJOR=$version" >/dev/null
		tg_as_root chown -R "$(id -u):$(id -g)" "$work"
		tar -xf postgresql-"$TG_PG_MAJOR"_*.orig.tar.*
		cd postgresql-"$TG_PG_MAJOR".*/
		./configure -q --without-readline --without-zlib >configure.log 2>&1 ||
			{ tail -20 configure.log; exit 1; }
		make -s -j"$(nproc)" -C src/test/isolation >make.log 2>&1 ||
			{ tail -20 make.log; exit 1; }
		tg_as_root install -d "$dir"
		tg_as_root install -m 755 src/test/isolation/pg_isolation_regress \
			src/test/isolation/isolationtester "$dir/"
	) || status=$?
	rm -rf "$work"
	return $status
}

# Copy the work tree (tracked files and untracked ones that git does not
# ignore, as they are on disk; the whole directory less build products when
# it is no git checkout) to DEST: tg_copy_tree DEST
tg_copy_tree()
{
	local dest=$1

	mkdir -p "$dest" || return
	if git -C "$TG_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$TG_ROOT" && git ls-files -z -co --exclude-standard |
			while IFS= read -r -d '' f; do
				if [ -e "$f" ]; then
					printf '%s\0' "$f"
				fi
			done | tar -c --null -T - -f -) | tar -x -C "$dest"
	else
		(cd "$TG_ROOT" && tar -c --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
			--exclude=results --exclude=output_iso -f - .) | tar -x -C "$dest"
	fi
}

# Packages, build, install: what both commands do first.  Arguments are the
# packages to make sure of.  TG_NO_BUILD=1 skips the build and install and
# uses the extension as installed (for running single steps while the tree
# is being edited).  Returns at the first failure (each command is
# checked here, because errexit does not apply when the caller tests the
# result, as in "tg_prepare || ...").
tg_prepare()
{
	tg_install_packages "$@" || return
	if [ "${TG_NO_BUILD:-0}" = 1 ]; then
		tg_say "build: skipped (TG_NO_BUILD=1), using the installed extension"
		return 0
	fi
	tg_build || return
	tg_install
}

# Run a command inside a throwaway cluster of TG_PG_MAJOR.  pg_virtualenv
# creates the cluster (in a temporary directory, -t, even as root, so it never
# collides with the machine's own clusters), exports PGHOST, PGPORT, PGUSER,
# PGPASSWORD and PGDATABASE, runs the command, prints the server log if the
# command failed, drops the cluster and returns the command's status.
#
# The cluster takes the first free port from 5432 on (pg_virtualenv takes
# PGPORT when set), so that a second run on the same machine, or a cluster
# left by another tool, does not make it fail with a port conflict.
tg_free_port()
{
	local port

	for port in $(seq 5432 5531); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
			[ ! -e "/var/run/postgresql/.s.PGSQL.$port" ]; then
			echo "$port"
			return 0
		fi
	done
	echo 5432
}

tg_virtualenv()
{
	PGPORT=$(tg_free_port) pg_virtualenv -t -v "$TG_PG_MAJOR" "$@"
}
