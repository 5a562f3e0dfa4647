#!/bin/bash
#
# test/tap/run.sh -- the crash recovery tests, with PostgreSQL's Perl TAP
# framework (PostgreSQL::Test::Cluster, or PostgresNode before 15, from
# postgresql-server-dev-NN; test/tap/lib/TgTap.pm takes either)
#
#     test/tap/run.sh                   every test/tap/t/*.pl
#     test/tap/run.sh t/002_crash_asynchronous_commit.pl
#     TG_CRASHES=100 test/tap/run.sh    more crashes per test (default 20, 10 and 6)
#     test/check.sh crash               as a step of the test suite
#
# Each test makes its own clusters (initdb in a temporary directory) and uses
# the transfer_guard extension as installed for PostgreSQL TG_PG_MAJOR
# (default 15, as test/check.sh --pg sets it); it does not
# use the cluster of test/check.sh.  PostgreSQL refuses to run as root, so
# when run as root the tests run as the "postgres" user, from a copy of
# test/tap in a temporary directory that user owns.  The framework keeps its
# data directories and logs under that directory's tmp_check/; it is removed
# when every test passed and kept (its path printed) when one failed.
#
# Needs prove (perl), IPC::Run (libipc-run-perl) and
# postgresql-server-dev-NN; test/check.sh installs them.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
major=${TG_PG_MAJOR:-15}
pgbin=/usr/lib/postgresql/$major/bin
pgxs=$(dirname "$(dirname "$("$pgbin/pg_config" --pgxs)")")	# .../lib/pgxs/src
perl_lib=$pgxs/test/perl
pg_regress=$pgxs/test/regress/pg_regress

if [ -e "$perl_lib/PostgreSQL/Test/Cluster.pm" ]; then
	cluster_pm=$perl_lib/PostgreSQL/Test/Cluster.pm
else
	cluster_pm=$perl_lib/PostgresNode.pm		# before 15
fi
for f in "$cluster_pm" "$pg_regress"; do
	if [ ! -e "$f" ]; then
		echo "test/tap/run.sh: $f is missing (install postgresql-server-dev-$major)" >&2
		exit 2
	fi
done

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	mapfile -t tests < <(cd "$here" && ls t/*.pl)
fi

work=$(mktemp -d -t tg_tap.XXXXXX)
cp -r "$here/t" "$here/lib" "$work/"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$work"
	as_user=(runuser -u postgres --)
fi

status=0
(cd "$work" && "${as_user[@]}" env \
	PATH="$pgbin:$PATH" \
	TESTDIR="$work" \
	PG_REGRESS="$pg_regress" \
	${TG_CRASHES:+TG_CRASHES="$TG_CRASHES"} \
	prove --norc -I "$perl_lib" -I "$work/lib" "${tests[@]}") || status=$?

if [ "$status" -eq 0 ]; then
	rm -rf "$work"
else
	echo "test/tap/run.sh: logs kept in $work/tmp_check/log" >&2
fi
exit "$status"
