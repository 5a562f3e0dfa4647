#!/bin/bash
#
# test/diff/run.sh -- the differential test: each scenario runs twice, once
# through the extension and once as the plain SQL a careful client would
# run, in twin databases, and the two runs must end alike
#
#     test/diff/run.sh                 every scenario in test/diff/scenarios/
#     test/diff/run.sh rls_ key_uuid   the scenarios whose names start so
#
# Runs against the server named by PGHOST, PGPORT, PGUSER (a superuser) and
# PGDATABASE, as test/check.sh provides them.  Through test/check.sh,
# TG_DIFF_ONLY="rls_ key_uuid" selects scenarios the same way.
# TG_DIFF_VERBOSE=1 prints every scenario's outcomes and states, not only
# those of failures; TG_DIFF_JOBS sets how many scenarios run at once
# (default: the number of CPUs, at most 4).
#
# What "equivalent" means
# -----------------------
# A call transfer(t, from, to, n) on a column guarded with floor F and
# ceiling C is equivalent to this transaction of a careful client, run as
# the same role, at the same isolation level, on the same rows:
#
#   1. Lock the rows it will change in the extension's global order (table
#      OID, then key): SELECT ... WHERE key IN (...) ORDER BY key
#      FOR NO KEY UPDATE (NOWAIT for nowait => true), and count them.  A
#      missing row, or one a policy hides from SELECT or from UPDATE, is
#      "not found": P0002 (tgd.found).
#   2. UPDATE t SET col = col - n WHERE key = from AND col - n >= F, and
#      UPDATE t SET col = col + n WHERE key = to AND col + n <= C: the
#      guard's limits are the WHERE clauses, not CHECK constraints (a
#      CHECK would also judge the side a move does not push toward the
#      limit, and rows already outside the limits, which guard() does not).
#      An UPDATE that changes no row although its row is held locked was
#      refused by its limit: 23514 (tgd.limited).  No floor or no ceiling:
#      that condition is left out.
#   3. Every other outcome is PostgreSQL's own: privileges, policies,
#      constraints, triggers, types, the transaction's state.  The client
#      addresses rows by the same key literals as the call.
#
# try_transfer()'s status is mapped to the error the same decision raises
# on the plain side (tgd.status: insufficient_funds and limit_exceeded to
# 23514, not_found to P0002, busy to 55P03; ok and duplicate succeed).  A
# batch is its legs in array order, each as above, in one transaction; a
# version column is the client's own "version = version + 1"; an
# idempotent replay is the client not sending the request again.  What the
# extension does that the client's statements do not (refusing from = to,
# a zero or fractional amount, a NULL balance; netting a batch's legs per
# row; the row path's trigger timing) shows up as a difference, and passes
# only where README.md documents it.
#
# Scenarios
# ---------
# test/diff/scenarios/NAME.sql: header lines "-- claim: ...", "-- role: R"
# (the role both runs SET ROLE to; none: the superuser), "-- isolation: L"
# (default_transaction_isolation of both runs; default read committed),
# then sections, each starting with a line "-- @NAME":
#   @setup   run as the superuser in each twin, in one transaction
#   @ext     the run through the extension (a psql script)
#   @plain   the run as plain SQL (a psql script)
#   @hold    optional: run as the superuser in a second session of each
#            twin, whose transaction stays open (holding its locks) while
#            the run goes, then is rolled back
# Objects are made in schema sc (search_path is sc, public; the extension
# and citext are in public).  Each run is a new session that stops at its
# first error (ON_ERROR_STOP); its outcome is that error's SQLSTATE, or
# 00000.  A script that changes its role mid-way (RESET ROLE for DDL
# between calls) sets it back itself.
#
# The twins
# ---------
# Each worker makes two databases from one template (the extension, citext
# and test/diff/lib.sql), tgd_ext_N and tgd_plain_N, and before every
# scenario resets both to the template's state (reset_sql: every schema a
# scenario made is dropped, and with its tables their guards; the journal
# and the idempotency records are emptied) and runs the setup in both.
# Making the twins afresh for each scenario (CREATE DATABASE, twice) cost
# about 0.9 s a scenario, the whole budget of this step.  Nothing compared
# depends on OIDs, which differ between the twins.
#
# What is compared
# ----------------
#   outcome  the SQLSTATE of each run
#   state    every user table, row by row (tgd.snapshot), after each run;
#            compared when the outcomes agree (when they do not, the states
#            differ as a consequence and are shown, not judged)
#   notices  the NOTICE and WARNING messages each run printed, in order
#            (what user triggers said), compared when the outcomes agree
#   journal  the ext twin's journal: every from_key/to_key must be the
#            row's own key::text, what README's reconciliation joins on
#            (tgd.journal_keys)
#
# A difference passes only if an entry of test/diff/allowed.txt names the
# README.md section (and a phrase in it) that documents it; each entry is
# checked against README.md first.  A scenario listed in test/diff/known.txt
# (a defect being fixed) may differ: it is reported as a known difference;
# when it stops differing it FAILS, so that its line is removed with the
# fix and the scenario guards the fix from then on.  An allow-list entry
# whose difference no longer occurs fails likewise.  A crash (lost
# connection) is never allowed.
#
# The last line is "differential: N passed, N failed", counting scenarios
# (and allow-list or known-list entries that fail their checks); the exit
# status is non-zero if anything failed.
#
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
allowed_file=$here/allowed.txt
known_file=$here/known.txt
verbose=${TG_DIFF_VERBOSE:-0}

base=tgd_base
# one more worker than CPUs: much of a scenario is waiting for the server
jobs=${TG_DIFF_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=2
[ "$jobs" -le 4 ] || jobs=4
roles=(tgd_alice tgd_bob tgd_owner tgd_bypass)

work=$(mktemp -d -t transfer_guard_diff.XXXXXX)

passed=0
failed=0

say()
{
	printf '==> %s\n' "$*"
}

sql()
{
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# Wait until no session is connected to the named databases: DROP
# DATABASE and CREATE DATABASE ... TEMPLATE would otherwise wait 100 ms at
# a time for a backend still exiting.  Prints SQL for the control session.
wait_unused()
{
	local list
	list=$(printf "'%s'," "$@")
	cat <<-EOF
	DO \$\$
	BEGIN
		FOR i IN 1..5000 LOOP
			PERFORM pg_stat_clear_snapshot();
			EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity
			                       WHERE datname IN (${list%,}));
			PERFORM pg_sleep(0.002);
		END LOOP;
	END
	\$\$;
	EOF
}

cleanup()
{
	local r dbs=("$base")
	exec 2>/dev/null
	kill $(jobs -p) 2>/dev/null
	wait
	for r in $(seq 1 "$jobs"); do
		dbs+=("tgd_plain_$r" "tgd_ext_$r")
	done
	{ wait_unused "${dbs[@]}"
		for r in "${dbs[@]}"; do
			echo "DROP DATABASE IF EXISTS $r;"
		done
	} | sql -d postgres -f - >/dev/null 2>&1
	for r in "${roles[@]}"; do
		sql -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 124" TERM INT

# ---------------------------------------------------------------------------
# The allow-list and the known list
# ---------------------------------------------------------------------------

trim()
{
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	s=${s%"${s##*[![:space:]]}"}
	printf '%s' "$s"
}

# The text of the section whose heading contains $1, in README.md, or in
# the file named before a colon ("docs/design.md: ## Checks"): from that
# heading to the next heading of the same or a higher level, on one line,
# runs of white space made one space.
readme_section()
{
	local file=README.md want=$1

	case $want in
		*.md:*)
			file=${want%%:*}
			want=$(trim "${want#*:}")
			;;
	esac
	[ -f "$root/$file" ] || return 0
	awk -v want="$want" '
		/^#+ / {
			level = index($0, " ") - 1
			if (inside && level <= inlevel)
				inside = 0
			if (!inside && !done && index($0, want)) {
				inside = 1; inlevel = level; done = 1
			}
		}
		inside { print }
	' "$root/$file" | tr -s '[:space:]' ' '
}

# allowed.txt: "scenario | aspect | ext | plain | README section | phrase"
declare -a allow_scenario allow_aspect allow_ext allow_plain
load_allowed()
{
	local line lineno=0 f scen aspect ext plain section phrase text
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case $(trim "$line") in
			'' | '#'*) continue ;;
		esac
		IFS='|' read -r scen aspect ext plain section phrase <<<"$line"
		scen=$(trim "$scen") aspect=$(trim "$aspect") ext=$(trim "$ext")
		plain=$(trim "$plain") section=$(trim "${section:-}") phrase=$(trim "${phrase:-}")
		f="allowed.txt:$lineno ($scen)"
		if [ ! -f "$here/scenarios/$scen.sql" ]; then
			echo "not ok - $f: no scenario $scen"
			failed=$((failed + 1))
			continue
		fi
		case $aspect in
			outcome | state | notices | journal) ;;
			*)
				echo "not ok - $f: unknown aspect \"$aspect\""
				failed=$((failed + 1))
				continue
				;;
		esac
		text=$(readme_section "$section")
		if [ -z "$section" ] || [ -z "$text" ]; then
			echo "not ok - $f: README.md has no section \"$section\""
			failed=$((failed + 1))
			continue
		fi
		phrase=$(tr -s '[:space:]' ' ' <<<"$phrase")
		phrase=$(trim "$phrase")
		if [ -z "$phrase" ] || [[ $text != *"$phrase"* ]]; then
			echo "not ok - $f: README.md section \"$section\" does not say \"$phrase\""
			failed=$((failed + 1))
			continue
		fi
		allow_scenario+=("$scen")
		allow_aspect+=("$aspect")
		allow_ext+=("$ext")
		allow_plain+=("$plain")
	done <"$allowed_file"
}

# known.txt: "scenario defect  # what"
declare -A known
load_known()
{
	local scen defect rest
	while read -r scen defect rest || [ -n "$scen" ]; do
		case $scen in
			'' | '#'*) continue ;;
		esac
		if [ ! -f "$here/scenarios/$scen.sql" ]; then
			echo "not ok - known.txt: no scenario $scen"
			failed=$((failed + 1))
			continue
		fi
		known[$scen]=$defect
	done <"$known_file"
}

# Set idx to the index of the allow-list entry covering this difference,
# or to nothing: allowance SCENARIO ASPECT EXT PLAIN
allowance()
{
	local i
	idx=
	for i in "${!allow_scenario[@]}"; do
		if [ "${allow_scenario[$i]}" = "$1" ] && [ "${allow_aspect[$i]}" = "$2" ] &&
			{ [ "${allow_ext[$i]}" = '*' ] || [ "${allow_ext[$i]}" = "$3" ]; } &&
			{ [ "${allow_plain[$i]}" = '*' ] || [ "${allow_plain[$i]}" = "$4" ]; }; then
			idx=$i
			return
		fi
	done
}

# ---------------------------------------------------------------------------
# The twins
# ---------------------------------------------------------------------------

# The template's state again: drop every schema a scenario made (sc, where
# its objects go, and any other), with their tables' guards (the
# extension's drop trigger); empty the journal and the idempotency
# records; make sc again.  Fails if the registry still holds a guard or
# public a relation of a scenario.
reset_sql()
{
	cat <<-'EOF'
	RESET ALL;
	RESET ROLE;
	BEGIN;
	DO $$
	DECLARE
		s name;
	BEGIN
		FOR s IN SELECT nspname FROM pg_namespace
				  WHERE nspname NOT IN ('public', 'tgd', 'information_schema')
				    AND nspname NOT LIKE 'pg\_%'
		LOOP
			EXECUTE format('DROP SCHEMA %I CASCADE', s);
		END LOOP;
	END
	$$;
	TRUNCATE transfer_guard_journal, transfer_guard_idempotency;
	CREATE SCHEMA sc;
	GRANT USAGE ON SCHEMA sc TO PUBLIC;
	GRANT CREATE ON SCHEMA sc TO tgd_owner;
	DO $$
	BEGIN
		IF EXISTS (SELECT FROM transfer_guard_registry) THEN
			RAISE EXCEPTION 'a guard survived the reset';
		END IF;
		IF EXISTS (SELECT FROM pg_class c
					WHERE c.relnamespace = 'public'::regnamespace
					  AND NOT EXISTS (SELECT FROM pg_depend d
									   WHERE d.classid = 'pg_class'::regclass
									     AND d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))) THEN
			RAISE EXCEPTION 'a scenario left a relation in schema public';
		END IF;
	END
	$$;
	SET search_path = sc, public;
	EOF
}

# Each twin has an admin session, a psql reading from a FIFO for the life
# of the worker, which resets the twin, runs the setup and reads the twin
# after a run: a new session for each of these cost more than the rest of
# the scenario.  The runs themselves are new sessions each.  The session
# answers each batch of commands with a line on a second FIFO (its
# LAST_ERROR_SQLSTATE), which the worker waits for without polling.
#   admin_start SIDE DB DIR: input fd admin_in_SIDE, answers admin_out_SIDE,
#   process admin_pid_SIDE
admin_start()
{
	local side=$1 db=$2 dir=$3 fd
	mkdir -p "$dir"
	mkfifo "$dir/in" "$dir/answer"
	PGOPTIONS='-c client_min_messages=warning -c synchronous_commit=off' \
		psql -X -q -d "$db" -f "$dir/in" >"$dir/out" 2>"$dir/err" &
	eval "admin_pid_$side=$!"
	# read-write: opening does not wait for the writer, and the session's
	# "\o answer" never waits for a reader
	exec {fd}<>"$dir/answer"
	eval "admin_out_$side=$fd"
	exec {fd}>"$dir/in"
	eval "admin_in_$side=$fd"
	printf '%s\n' '\pset tuples_only on' '\pset format unaligned' >&"$fd"
}

# Send the commands given (one line each) to SIDE's admin session and wait
# for them: admin_do SIDE DIR COMMAND....  Fails if any of them failed (its
# error is in DIR/err) or no answer came within a minute.
admin_do()
{
	local side=$1 dir=$2 in=admin_in_$1 out=admin_out_$1 pid=admin_pid_$1 answer
	in=${!in}
	out=${!out}
	shift 2
	if ! kill -0 "${!pid}" 2>/dev/null; then
		echo "the admin session of the $side twin has ended" >>"$dir/err"
		return 1
	fi
	printf '%s\n' '\set LAST_ERROR_SQLSTATE 00000' "$@" "\\o $dir/answer" \
		'\qecho :LAST_ERROR_SQLSTATE' '\o' >&"$in"
	if ! read -r -t 60 -u "$out" answer; then
		echo "no answer from the admin session of the $side twin" >>"$dir/err"
		return 1
	fi
	[ "$answer" = 00000 ]
}

# Open the @hold session on database DB: a psql reading from a FIFO (fd
# 7), which runs the @hold section in a transaction and then answers on a
# second FIFO, so the run starts once the locks are held.
hold_open()
{
	local db=$1 d=$2 answer
	mkfifo "$d/hold.$db.in" "$d/hold.$db.answer"
	PGOPTIONS='-c search_path=sc,public' \
		psql -X -q -d "$db" -f "$d/hold.$db.in" >"$d/hold.$db.out" 2>&1 &
	hold_pid=$!
	exec 8<>"$d/hold.$db.answer"
	exec 7>"$d/hold.$db.in"
	{
		echo '\set LAST_ERROR_SQLSTATE 00000'
		echo 'BEGIN;'
		cat "$d/hold.sql"
		echo "\\o $d/hold.$db.answer"
		echo '\qecho :LAST_ERROR_SQLSTATE'
		echo '\o'
	} >&7
	if ! read -r -t 60 -u 8 answer || [ "$answer" != 00000 ]; then
		echo "the @hold session did not get its locks:"
		cat "$d/hold.$db.out"
		return 1
	fi
}

hold_close()
{
	echo 'ROLLBACK;' >&7
	exec 7>&- 8<&-
	wait "$hold_pid" 2>/dev/null
}

# Reset SIDE's twin and run the scenario's setup in it, in one transaction:
# prepare_side SIDE DIR ADMINDIR.  DIR/SIDE.setup.failed when it failed.
prepare_side()
{
	local side=$1 d=$2 a=$3
	if ! admin_do "$side" "$a" "\\i $work/reset.sql" "\\i $d/setup.sql" 'COMMIT;' 'RESET ROLE;'; then
		: >"$d/$side.setup.failed"
	fi
}

# Run one side, then read its twin: run_side SIDE DB DIR ADMINDIR ROLE
# ISOLATION.  Writes DIR/SIDE.outcome (a SQLSTATE, 00000 for success),
# .message (the error), .notices, .state (tgd.snapshot) and .journal
# (tgd.journal_keys); DIR/SIDE.harness when the harness itself failed (the
# @hold session, reading the twin).
run_side()
{
	local side=$1 db=$2 d=$3 a=$4 role=$5 iso=$6 status=0 code line
	local setrole=()
	[ -n "$role" ] && setrole=(-c "SET ROLE $role")
	if [ -s "$d/hold.sql" ]; then
		hold_open "$db" "$d" >"$d/$side.harness" 2>&1 || return 1
		: >"$d/$side.harness"
	fi
	PGOPTIONS='-c client_min_messages=notice -c search_path=sc,public' \
		psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" "${setrole[@]}" \
		-c "SET default_transaction_isolation = '$iso'" -f "$d/$side.sql" \
		>"$d/$side.stdout" 2>"$d/$side.stderr" || status=$?
	if [ -s "$d/hold.sql" ]; then
		hold_close
	fi
	# the outcome: the last error psql printed (it stopped there), and the
	# notices and warnings in order, without psql's file:line prefix
	code=00000
	: >"$d/$side.message"
	: >"$d/$side.notices"
	while IFS= read -r line; do
		if [[ $line =~ (NOTICE|WARNING):\ \ [0-9A-Z]{5}:\ (.*)$ ]]; then
			printf '%s: %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >>"$d/$side.notices"
		elif [[ $line =~ ERROR:\ \ ([0-9A-Z]{5}):\ (.*)$ ]]; then
			printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" >"$d/$side.message"
			code=${BASH_REMATCH[1]}
		fi
	done <"$d/$side.stderr"
	case $status in
		0) code=00000 ;;
		3) [ "$code" != 00000 ] || code=unknown ;;
		2) code=connection-lost ;;
		*) code="psql-status-$status" ;;
	esac
	echo "$code" >"$d/$side.outcome"
	if ! admin_do "$side" "$a" 'RESET ROLE;' "\\o $d/$side.state" 'SELECT * FROM tgd.snapshot();' \
		"\\o $d/$side.journal" 'SELECT * FROM tgd.journal_keys();' '\o'; then
		{ echo "reading the twin after the run failed:"; tail -20 "$a/err"; } >"$d/$side.harness"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# One scenario
# ---------------------------------------------------------------------------

# Split a scenario file into DIR/header and DIR/{setup,ext,plain,hold}.sql.
parse_scenario()
{
	awk -v dir="$2" '
		BEGIN { sec = "header" }
		/^-- @(setup|ext|plain|hold)[ \t]*$/ {
			sec = substr($2, 2); next
		}
		sec == "header" {
			if ($0 ~ /^-- [a-z]+:/) {
				key = substr($2, 1, length($2) - 1)
				val = $0; sub(/^-- [a-z]+:[ \t]*/, "", val)
				print key "=" val > (dir "/header")
			}
			next
		}
		{ print > (dir "/" sec ".sql") }
	' "$1"
	: >>"$2/header"
	: >>"$2/setup.sql"
	: >>"$2/hold.sql"
	[ -f "$2/ext.sql" ] && [ -f "$2/plain.sql" ]
}

header()
{
	local line
	while IFS= read -r line; do
		if [ "${line%%=*}" = "$2" ]; then
			printf '%s' "${line#*=}"
			return
		fi
	done <"$1/header"
}

show_side()
{
	local d=$1 side=$2
	printf '#   %-5s outcome %s %s\n' "$side" "$(cat "$d/$side.outcome")" \
		"$(cut -c7- "$d/$side.message" 2>/dev/null)"
	sed 's/^/#     | /' "$d/$side.state"
	if [ -s "$d/$side.notices" ]; then
		sed 's/^/#     notice: /' "$d/$side.notices"
	fi
	if [ -s "$d/$side.journal" ]; then
		sed 's/^/#     /' "$d/$side.journal"
	fi
}

show_scenario()
{
	local d=$1
	echo "#   claim: $(header "$d" claim)"
	show_side "$d" ext
	show_side "$d" plain
	if ! cmp -s "$d/plain.state" "$d/ext.state"; then
		echo "#   state, plain -> ext:"
		diff -U0 "$d/plain.state" "$d/ext.state" | tail -n +3 | grep -v '^@@' | sed 's/^/#     /'
	fi
}

# Run one scenario in the worker's twins: run_scenario FILE N.  Writes its
# verdict (identical, allowed, known or failed) to DIR/verdict, its report
# lines to DIR/report, the allow-list entries it used to DIR/used.
run_scenario()
{
	local file=$1 n=$2 name d role iso diffs=() a aspect x y idx
	local all_allowed=1 ext_out plain_out verdict side list p1 p2 t0 t1 t2 t3
	name=$(basename "$file" .sql)
	d=$work/$name
	mkdir -p "$d"
	: >"$d/used"
	exec 5>"$d/report"
	if ! parse_scenario "$file" "$d"; then
		echo "not ok - $name: the file needs an @ext and a @plain section" >&5
		echo failed >"$d/verdict"
		return
	fi
	role=$(header "$d" role)
	iso=$(header "$d" isolation)
	iso=${iso:-read committed}

	# (waits for these two only: the admin sessions are children too)
	t0=$EPOCHREALTIME
	prepare_side ext "$d" "$work/admin.$n.ext" &
	p1=$!
	prepare_side plain "$d" "$work/admin.$n.plain" &
	p2=$!
	wait "$p1" "$p2"
	for side in ext plain; do
		if [ -e "$d/$side.setup.failed" ]; then
			{ echo "not ok - $name: setup failed in the $side twin"
			  tail -20 "$work/admin.$n.$side/err" | sed 's/^/#   /'; } >&5
			echo failed >"$d/verdict"
			return
		fi
	done
	t1=$EPOCHREALTIME
	run_side ext "tgd_ext_$n" "$d" "$work/admin.$n.ext" "$role" "$iso" &
	p1=$!
	run_side plain "tgd_plain_$n" "$d" "$work/admin.$n.plain" "$role" "$iso" &
	p2=$!
	wait "$p1" "$p2"
	for side in ext plain; do
		if [ -s "$d/$side.harness" ]; then
			{ echo "not ok - $name: harness failure on the $side side"
			  sed 's/^/#   /' "$d/$side.harness"; } >&5
			echo failed >"$d/verdict"
			return
		fi
	done
	t2=$EPOCHREALTIME
	read -r ext_out <"$d/ext.outcome"
	read -r plain_out <"$d/plain.outcome"

	if [ "$ext_out" != "$plain_out" ]; then
		diffs+=("outcome|$ext_out|$plain_out")
	else
		same "$d/ext.state" "$d/plain.state" || diffs+=("state|*|*")
		same "$d/ext.notices" "$d/plain.notices" || diffs+=("notices|*|*")
	fi
	[ -s "$d/ext.journal" ] && diffs+=("journal|*|*")
	# a crash or a harness failure is never allowed
	case "$ext_out $plain_out" in
		*connection-lost* | *psql-status* | *unknown*) all_allowed=0 ;;
	esac

	for a in "${diffs[@]}"; do
		IFS='|' read -r aspect x y <<<"$a"
		allowance "$name" "$aspect" "$x" "$y"
		if [ -n "$idx" ]; then
			echo "$idx" >>"$d/used"
		else
			all_allowed=0
		fi
	done
	list=
	for a in "${diffs[@]}"; do
		list+="${list:+ }${a%%|*}"
	done

	if [ ${#diffs[@]} -eq 0 ]; then
		if [ -n "${known[$name]:-}" ]; then
			echo "not ok - $name: KNOWN DIFFERENCE (defect ${known[$name]}) NO LONGER OCCURS: remove it from test/diff/known.txt" >&5
			verdict=failed
		else
			echo "ok - $name: identical ($ext_out)" >&5
			verdict=identical
		fi
	elif [ "$all_allowed" = 1 ]; then
		echo "ok - $name: allowed difference ($list; ext $ext_out, plain $plain_out)" >&5
		verdict=allowed
	elif [ -n "${known[$name]:-}" ]; then
		echo "ok - $name: known difference, defect ${known[$name]} ($list; ext $ext_out, plain $plain_out)" >&5
		verdict=known
	else
		echo "not ok - $name: UNDOCUMENTED DIFFERENCE ($list; ext $ext_out, plain $plain_out)" >&5
		verdict=failed
	fi
	echo "$verdict" >"$d/verdict"
	if [ "$verdict" = failed ] || [ "$verbose" = 1 ]; then
		show_scenario "$d" >&5
	fi
	exec 5>&-
	# milliseconds spent resetting and setting up, running and reading, comparing
	t3=$EPOCHREALTIME
	t0=${t0/./} t1=${t1/./} t2=${t2/./} t3=${t3/./}
	echo "$(((10#$t1 - 10#$t0) / 1000)) $(((10#$t2 - 10#$t1) / 1000)) $(((10#$t3 - 10#$t2) / 1000))" >"$d/times"
}

# Whether two (small) files hold the same text, without a process.
same()
{
	local a b
	IFS= read -r -d '' a <"$1"
	IFS= read -r -d '' b <"$2"
	[ "$a" = "$b" ]
}

# A worker: run_worker N FILE...: the scenarios given, one after the other,
# in twin databases of its own (tgd_ext_N, tgd_plain_N), made from the
# template once and reset before each scenario.
run_worker()
{
	local n=$1 file d
	shift
	if ! sql -d postgres -c "CREATE DATABASE tgd_ext_$n TEMPLATE $base" \
		-c "CREATE DATABASE tgd_plain_$n TEMPLATE $base" >"$work/worker$n.out" 2>&1; then
		for file in "$@"; do
			d=$work/$(basename "$file" .sql)
			mkdir -p "$d"
			{ echo "not ok - $(basename "$file" .sql): could not make the twins"
			  sed 's/^/#   /' "$work/worker$n.out"; } >"$d/report"
			echo failed >"$d/verdict"
		done
		return
	fi
	admin_start ext "tgd_ext_$n" "$work/admin.$n.ext"
	admin_start plain "tgd_plain_$n" "$work/admin.$n.plain"
	for file in "$@"; do
		run_scenario "$file" "$n"
	done
	exec {admin_in_ext}>&- {admin_in_plain}>&-
	wait
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

start=$(date +%s)
say "differential: preparing the template database $base"
for r in "${roles[@]}"; do
	sql -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
done
if ! { wait_unused "$base"
	echo "DROP DATABASE IF EXISTS $base;"
	for n in $(seq 1 "$jobs"); do
		echo "DROP DATABASE IF EXISTS tgd_ext_$n;"
		echo "DROP DATABASE IF EXISTS tgd_plain_$n;"
	done
} | sql -d postgres -f - ||
	! sql -d postgres -c "CREATE DATABASE $base" \
		-c "CREATE ROLE tgd_alice" -c "CREATE ROLE tgd_bob" \
		-c "CREATE ROLE tgd_owner" -c "CREATE ROLE tgd_bypass BYPASSRLS" ||
	! sql -d "$base" -c 'CREATE EXTENSION transfer_guard' -c 'CREATE EXTENSION citext' \
		-f "$here/lib.sql" ||
	! wait_unused "$base" | sql -d postgres -f -; then
	echo "not ok - differential: could not prepare the template database"
	echo "differential: 0 passed, 1 failed"
	exit 1
fi

reset_sql >"$work/reset.sql"
load_allowed
load_known

if [ $# -eq 0 ] && [ -n "${TG_DIFF_ONLY:-}" ]; then
	# shellcheck disable=SC2086
	set -- $TG_DIFF_ONLY
fi
selected=()
mapfile -t files < <(find "$here/scenarios" -name '*.sql' -type f | sort)
for file in "${files[@]}"; do
	name=$(basename "$file" .sql)
	if [ $# -gt 0 ]; then
		keep=0
		for prefix in "$@"; do
			[[ $name == "$prefix"* ]] && keep=1
		done
		[ "$keep" = 1 ] || continue
	fi
	selected+=("$file")
done
if [ ${#selected[@]} -eq 0 ]; then
	echo "not ok - differential: no scenario selected"
	echo "differential: $passed passed, $((failed + 1)) failed"
	exit 1
fi
[ "$jobs" -le "${#selected[@]}" ] || jobs=${#selected[@]}

# the scenarios dealt round-robin to the workers, reported in name order
say "differential: ${#selected[@]} scenarios, $jobs at a time"
for n in $(seq 1 "$jobs"); do
	mine=()
	for i in "${!selected[@]}"; do
		[ $((i % jobs + 1)) = "$n" ] && mine+=("${selected[$i]}")
	done
	run_worker "$n" "${mine[@]}" &
done
wait

declare -A count=([identical]=0 [allowed]=0 [known]=0 [failed]=0)
declare -A used
for file in "${selected[@]}"; do
	name=$(basename "$file" .sql)
	d=$work/$name
	cat "$d/report" 2>/dev/null || echo "not ok - $name: did not report"
	verdict=$(cat "$d/verdict" 2>/dev/null || echo failed)
	count[$verdict]=$((${count[$verdict]} + 1))
	while read -r i; do
		used[$i]=1
	done < <(cat "$d/used" 2>/dev/null)
done
passed=$((passed + count[identical] + count[allowed] + count[known]))
failed=$((failed + count[failed]))

# an allowance whose difference did not occur documents nothing (checked
# only when every scenario ran)
if [ $# -eq 0 ]; then
	for i in "${!allow_scenario[@]}"; do
		if [ -z "${used[$i]:-}" ]; then
			echo "not ok - allowed.txt: ${allow_scenario[$i]} ${allow_aspect[$i]} (ext ${allow_ext[$i]}, plain ${allow_plain[$i]}) no longer differs: remove the entry (and README.md's text if the behaviour changed)"
			failed=$((failed + 1))
		fi
	done
fi

# where the time went (a loaded machine slows every step alike)
cat "$work"/*/times 2>/dev/null | awk -v jobs="$jobs" -v load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" '
	{ a += $1; b += $2; c += $3 }
	END { printf "==> differential: time per worker: setup %.1f s, runs %.1f s, comparing %.1f s (%d workers; load average %s)\n",
				 a / 1000 / jobs, b / 1000 / jobs, c / 1000 / jobs, jobs, load }'
say "differential: ${#selected[@]} scenarios: ${count[identical]} identical, ${count[allowed]} allowed differences, ${count[known]} known differences, ${count[failed]} failed, in $(($(date +%s) - start)) s"
echo "differential: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
