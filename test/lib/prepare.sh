# test/lib/prepare.sh -- shared by test/demo.sh and test/check.sh
#
# Sourced, not run.  Owns the steps both commands take before they touch a
# database: install the Debian packages that are missing, build the
# extension, install it, and run a command inside a throwaway cluster.
#
# Everything targets PostgreSQL 15 explicitly, so a machine with several
# server versions (or a /usr/bin/pg_config from another one) builds and tests
# against the right one.

TG_PG_MAJOR=15
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
	# test/clients: Django (with psycopg2, which Debian 12's Django 3.2
	# uses), psycopg 3, asyncpg, asgiref; Node.js for node-postgres
	python3-django
	python3-psycopg2
	python3-psycopg
	python3-asyncpg
	python3-asgiref
	nodejs
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

# Install the built extension into the PostgreSQL 15 installation.
tg_install()
{
	tg_say "install: make install"
	tg_as_root make -s -C "$TG_ROOT" PG_CONFIG="$TG_PG_CONFIG" install
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

# Run a command inside a throwaway PostgreSQL 15 cluster.  pg_virtualenv
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
