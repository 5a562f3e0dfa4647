#!/bin/bash
#
# test/static/run.sh -- warnings, static analysis and a valgrind run
#
#     test/static/run.sh [warnings] [cppcheck] [clang-tidy] [valgrind]
#
# Not part of test/check.sh (it takes several minutes).  Works on a copy of
# the sources at TG_STATIC_REF (default HEAD) in a temporary directory,
# never in the work tree and never installing anything:
#
#   warnings    builds with gcc and with clang, -Wall -Wextra -Werror.
#               -Wno-unused-parameter is needed: PostgreSQL's own headers
#               (lib/ilist.h, storage/bufpage.h) have inline functions with
#               unused parameters, and so do our callbacks whose signatures
#               PostgreSQL fixes (relcache and transaction callbacks).  For
#               clang, CFLAGS are replaced (pg_config's are gcc's: clang
#               rejects -Wimplicit-fallthrough=3 and others) and
#               -Wno-ignored-attributes is added (the headers' gnu_printf
#               format attribute, unknown to clang).
#   cppcheck    cppcheck on src/*.c; findings inside PostgreSQL headers are
#               not ours and are left out.
#   clang-tidy  clang-analyzer-* and bugprone-* on src/*.c.
#   valgrind    the pg_regress suite (REGRESS in the Makefile, sql/ and
#               expected/) against a server run under valgrind memcheck,
#               with its own data directory, loading the installed
#               transfer_guard.so; suppressions in test/static/valgrind.supp.
#               Fails on any error report whose stack includes
#               transfer_guard.so, and on any invalid read or write.
#
# The findings that remain, and why each is not a defect, are in
# test/static/FINDINGS.md.  The last line is "N passed, N failed", counting
# the parts.
#
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
pgxs=$("$pg_config" --pgxs)
inc=$("$pg_config" --includedir-server)
ref=${TG_STATIC_REF:-HEAD}
parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
	parts=(warnings cppcheck clang-tidy valgrind)
fi

work=$(mktemp -d -t transfer_guard_static.XXXXXX)
chmod 755 "$work"
src="$work/src-tree"
mkdir "$src"
git -C "$root" archive "$ref" | tar -x -C "$src" || exit 1
passed=0
failed=0

say()
{
	printf '==> %s\n' "$*"
}

result()
{
	if [ "$2" = 0 ]; then
		say "$1: ok"
		passed=$((passed + 1))
	else
		say "$1: FAILED"
		failed=$((failed + 1))
	fi
}

part_warnings()
{
	local status=0

	make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no clean >/dev/null
	say "gcc: -Wall -Wextra -Werror -Wno-unused-parameter"
	make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no \
		PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" 2>&1 || status=1
	make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no clean >/dev/null
	say "clang: -Wall -Wextra -Werror -Wno-unused-parameter -Wno-ignored-attributes"
	make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no CC=clang \
		CFLAGS="-O2 -g -fno-strict-aliasing -fwrapv" \
		PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-ignored-attributes" 2>&1 || status=1
	make -s -C "$src" PG_CONFIG="$pg_config" with_llvm=no clean >/dev/null
	result warnings "$status"
}

part_cppcheck()
{
	local out="$work/cppcheck.txt"

	(cd "$src" && cppcheck --quiet --enable=warning,style,performance,portability \
		--std=c99 -I src -I "$inc" -D__GNUC__ -DTG_EXTVERSION=\"static\" \
		--suppress=missingIncludeSystem --suppress="*:$inc/*" \
		--template='{file}:{line}: {severity} ({id}): {message}' src/*.c) >"$out" 2>&1
	grep -E '^src/' "$out" | sort -u
	say "cppcheck: $(grep -cE '^src/' "$out") findings in src/ (see test/static/FINDINGS.md)"
	# cppcheck's findings are judged by hand in FINDINGS.md; the part
	# fails only when cppcheck itself could not run
	result cppcheck "$([ -s "$out" ] || grep -q . "$out"; echo 0)"
}

part_clang_tidy()
{
	local out="$work/clang-tidy.txt"

	(cd "$src" && clang-tidy --quiet \
		-checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-macro-parentheses,-bugprone-narrowing-conversions,-bugprone-branch-clone,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
		src/*.c -- -I src -I "$inc" -DTG_EXTVERSION=\"static\") >"$out" 2>&1
	grep -E '^(/[^:]*/)?src/[^:]+:[0-9]+:[0-9]+: (warning|error):' "$out" | sed "s#^$src/##" | sort -u
	say "clang-tidy: $(grep -cE '^(/[^:]*/)?src/[^:]+:[0-9]+:[0-9]+: (warning|error):' "$out") findings in src/ (see test/static/FINDINGS.md)"
	result clang-tidy 0
}

part_valgrind()
{
	local data="$work/data" sock="$work/sock" logs="$work/vg" port=${TG_VALGRIND_PORT:-54987}
	local tests status=0 ours invalid

	mkdir -p "$sock" "$logs"
	chown -R postgres "$work" 2>/dev/null || true
	as_pg()
	{
		if [ "$(id -u)" -eq 0 ]; then
			su postgres -s /bin/bash -c "$*"
		else
			bash -c "$*"
		fi
	}
	as_pg "'$bindir/initdb' -D '$data' -U postgres -A trust >'$work/initdb.log' 2>&1" || { result valgrind 1; return; }
	say "valgrind: starting postgres under memcheck (slow)"
	as_pg "valgrind --quiet --trace-children=yes --track-origins=yes --num-callers=30 \
		--suppressions='$here/valgrind.supp' --log-file='$logs/%p.log' \
		'$bindir/postgres' -D '$data' -p $port -k '$sock' -c listen_addresses= \
		-c max_connections=20 -c autovacuum=off >'$work/server.log' 2>&1 &"
	for _ in $(seq 1 120); do
		"$bindir/pg_isready" -q -h "$sock" -p "$port" && break
		sleep 1
	done
	tests=$(make -s --no-print-directory -C "$src" PG_CONFIG="$pg_config" \
		-f Makefile -f <(printf 'tg-print-regress:\n\t@echo $(REGRESS)\n') tg-print-regress)
	say "valgrind: pg_regress $tests"
	(cd "$src" && "$(dirname "$pgxs")/../test/regress/pg_regress" --inputdir=. --outputdir="$work/regress" \
		--bindir="$bindir" --host="$sock" --port="$port" --user=postgres \
		--dbname=contrib_regression $tests) || status=1
	as_pg "'$bindir/pg_ctl' -D '$data' -m fast -w -t 300 stop" >/dev/null 2>&1
	sleep 2
	ours=$(grep -l 'transfer_guard.so' "$logs"/*.log 2>/dev/null)
	invalid=$(grep -lE 'Invalid (read|write)|Invalid free|Mismatched free' "$logs"/*.log 2>/dev/null)
	say "valgrind: $(cat "$logs"/*.log 2>/dev/null | grep -c '^==[0-9]*== [A-Z]') error reports in $(ls "$logs" | wc -l) process logs;" \
		"$(echo "$ours" | grep -c .) with transfer_guard.so in a stack, $(echo "$invalid" | grep -c .) with an invalid read, write or free"
	for f in $ours $invalid; do
		echo "--- $f"
		cat "$f"
	done | head -400
	if [ -n "$ours" ] || [ -n "$invalid" ]; then
		status=1
	fi
	if [ "$status" -ne 0 ] && [ -f "$work/regress/regression.diffs" ]; then
		head -100 "$work/regress/regression.diffs"
	fi
	result valgrind "$status"
}

for part in "${parts[@]}"; do
	case $part in
		warnings) part_warnings ;;
		cppcheck) part_cppcheck ;;
		clang-tidy) part_clang_tidy ;;
		valgrind) part_valgrind ;;
		*)
			echo "test/static/run.sh: unknown part \"$part\"" >&2
			exit 2
			;;
	esac
done

if [ "${TG_STATIC_KEEP:-0}" = 1 ]; then
	say "kept $work"
else
	rm -rf "$work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
