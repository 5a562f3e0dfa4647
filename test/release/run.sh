#!/bin/bash
#
# test/release/run.sh -- what a release and a user's build rely on
#
#     test/release/run.sh            (test/check.sh runs it as its release step)
#
# Claims:
#   * META.json follows the PGXN Meta Spec 1.0 (test/release/meta.pl) and
#     agrees with the project: its versions are the control file's
#     default_version, its file is that version's install script, and the
#     PostgreSQL it requires is the Makefile's minimum;
#   * make dist writes transfer_guard-VERSION.zip with everything under
#     transfer_guard-VERSION/, the install and upgrade scripts, the sources
#     and META.json in it and nothing export-ignored, and the extension
#     builds from it;
#   * a server older than 13 is refused before anything is compiled: by the
#     Makefile (a pg_config of 12 is simulated by MAJORVERSION=12, since no
#     such server is installable here), and by src/compat.h, whose #error
#     is the first error a compiler reports (PG_VERSION_NUM redefined to
#     120000 after postgres.h).
#
# Uses the PostgreSQL of TG_PG_MAJOR (default 15); needs git, perl, unzip.
# Prints "ok N - claim" / "not ok N - claim" and ends with
# "N passed, N failed".
#
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pg_config=/usr/lib/postgresql/${TG_PG_MAJOR:-15}/bin/pg_config
work=$(mktemp -d -t tg_release.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
passed=0
failed=0

check()
{
	local claim=$1 pass=$2 detail=${3:-}

	n=$((n + 1))
	if [ "$pass" = 1 ]; then
		echo "ok $n - $claim"
		passed=$((passed + 1))
	else
		echo "not ok $n - $claim"
		failed=$((failed + 1))
		if [ -n "$detail" ]; then
			sed 's/^/# /' <<<"$detail"
		fi
	fi
}

json()
{
	perl -MJSON::PP -0777 -ne "my \$m = decode_json(\$_); print $1" "$root/META.json"
}

# --- META.json -------------------------------------------------------------

out=$(perl "$here/meta.pl" "$root/META.json" "$root" 2>&1)
check "META.json follows the PGXN Meta Spec 1.0" "$([ $? = 0 ] && echo 1)" "$out"

extversion=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$root/transfer_guard.control")
semver=$extversion
while [ "$(tr -cd . <<<"$semver" | wc -c)" -lt 2 ]; do
	semver=$semver.0
done
got="$(json '$m->{version}') $(json '$m->{provides}{transfer_guard}{version}') $(json '$m->{provides}{transfer_guard}{file}')"
want="$semver $semver transfer_guard--$extversion.sql"
check "META.json's versions and file are the control file's $extversion" \
	"$([ "$got" = "$want" ] && echo 1)" "got: $got"$'\n'"want: $want"

min=$(make -s --no-print-directory -C "$root" PG_CONFIG="$pg_config" \
	-f Makefile -f <(printf 'tg-print-min:\n\t@echo $(TG_MIN_MAJOR)\n') tg-print-min 2>&1)
got=$(json '$m->{prereqs}{runtime}{requires}{PostgreSQL}')
check "META.json requires the Makefile's minimum PostgreSQL ($min)" \
	"$([ "$got" = "$min.0.0" ] && echo 1)" "got: $got"

# --- make dist -------------------------------------------------------------

dist=transfer_guard-$semver
if out=$(make -s -C "$root" PG_CONFIG="$pg_config" dist DISTFILE="$work/$dist.zip" 2>&1) &&
	[ -f "$work/$dist.zip" ]; then
	check "make dist writes $dist.zip" 1
	listing=$(unzip -Z1 "$work/$dist.zip")
	missing=()
	for f in META.json README.md LICENSE Makefile transfer_guard.control \
		$(cd "$root" && git ls-files 'transfer_guard--*.sql' 'src/*.c' 'src/*.h'); do
		grep -qx "$dist/$f" <<<"$listing" || missing+=("$f")
	done
	outside=$(grep -v "^$dist/" <<<"$listing")
	ignored=$(grep -E "^$dist/(\.ci/|\.gitignore$|\.gitattributes$)" <<<"$listing")
	check "$dist.zip holds the scripts, sources and META.json under $dist/, nothing export-ignored" \
		"$([ ${#missing[@]} -eq 0 ] && [ -z "$outside" ] && [ -z "$ignored" ] && echo 1)" \
		"missing: ${missing[*]}"$'\n'"outside $dist/: $outside"$'\n'"export-ignored: $ignored"
	(cd "$work" && unzip -q "$dist.zip")
	out=$(make -s -C "$work/$dist" PG_CONFIG="$pg_config" with_llvm=no -j2 2>&1)
	check "the extension builds from $dist.zip" \
		"$([ -f "$work/$dist/transfer_guard.so" ] && echo 1)" "$out"
	out=$(perl "$here/meta.pl" "$work/$dist/META.json" "$work/$dist" 2>&1)
	check "the files META.json names are in $dist.zip" "$([ $? = 0 ] && echo 1)" "$out"
else
	check "make dist writes $dist.zip" 0 "$out"
fi

# --- an unsupported server -------------------------------------------------

# a copy, so that nothing of the work tree is touched even if the check fails
mkdir -p "$work/old/src"
cp "$root/Makefile" "$root/transfer_guard.control" "$work/old/"
cp "$root"/src/*.[ch] "$work/old/src/"
out=$(make -C "$work/old" PG_CONFIG="$pg_config" MAJORVERSION=12 2>&1)
status=$?
check "the Makefile refuses PostgreSQL 12 before compiling anything" \
	"$([ $status -ne 0 ] && grep -q 'requires PostgreSQL 13 or later' <<<"$out" &&
		! ls "$work/old/src/"*.o >/dev/null 2>&1 && echo 1)" "$out"

inc=$("$pg_config" --includedir-server)
probe()
{
	printf '#include "postgres.h"\n%s\n#include "compat.h"\n' "$1" |
		gcc -fsyntax-only -I"$root/src" -I"$inc" -x c - 2>&1
}
out=$(probe '')
check "src/compat.h compiles against this server's headers" \
	"$([ -z "$out" ] && echo 1)" "$out"
out=$(probe $'#undef PG_VERSION_NUM\n#define PG_VERSION_NUM 120000')
first=$(grep -m1 'error' <<<"$out")
check "src/compat.h's first error for PostgreSQL 12 is its #error" \
	"$(grep -q 'requires PostgreSQL 13 or later' <<<"$first" && echo 1)" "$out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
