#!/bin/bash
#
# test/fuzz/attack_install.sh -- attacks on the install script
#
# Claims:
#   * the install and upgrade scripts refuse to run outside CREATE EXTENSION
#     (fed to psql, they create nothing);
#   * for every object the extension creates, an object of the same name
#     (and, for functions, the same arguments) made beforehand by an
#     unprivileged role makes CREATE EXTENSION fail: the attacker's object is
#     neither adopted nor run, and stays the attacker's.
# The objects are read from a reference installation, so every object of
# the installed version is covered.
#
# Run by test/fuzz/run.sh with PGHOST, PGPORT, PGUSER (a superuser) set.
# Prints "ok N - claim" / "not ok N - claim" lines.
#
set -uo pipefail

n=0
ref=tg_install_ref
db=tg_install_atk
sharedir=$(pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/15)

q()
{
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -At -v ON_ERROR_STOP=1 "$@"
}

check()
{
	local claim=$1 pass=$2 detail=${3:-}

	n=$((n + 1))
	if [ "$pass" = 1 ]; then
		echo "ok $n - install: $claim"
	else
		echo "not ok $n - install: $claim"
		if [ -n "$detail" ]; then
			sed 's/^/# /' <<<"$detail"
		fi
	fi
}

fresh()
{
	q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}

q -d postgres -c "DROP ROLE IF EXISTS atk_installer" -c "CREATE ROLE atk_installer" || exit 1

# 1. the scripts refuse to run outside CREATE EXTENSION
fresh "$db" || exit 1
for script in "$sharedir"/extension/transfer_guard--*.sql; do
	name=$(basename "$script")
	out=$(psql -X -q -d "$db" -f "$script" 2>&1)
	objects=$(q -d "$db" -c "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE s.nspname = 'public') + (SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
		WHERE s.nspname = 'public') + (SELECT count(*) FROM pg_event_trigger)")
	check "$name fed to psql creates nothing and says to use CREATE or ALTER EXTENSION" \
		"$([ "$objects" = 0 ] && grep -qE '(CREATE|ALTER) EXTENSION transfer_guard' <<<"$out" && echo 1)" \
		"objects created: $objects; output: $out"
done

# the extension's objects in a database, as "type|identity" lines
extension_objects()
{
	q -d "$1" -F '|' -c "
	SELECT o.type, o.identity
	  FROM pg_depend d, pg_identify_object(d.classid, d.objid, 0) o
	 WHERE d.refclassid = 'pg_extension'::regclass
	   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'transfer_guard')
	   AND d.deptype = 'e'
	   AND o.type IN ('table', 'sequence', 'view', 'function', 'index', 'type')
	   -- 18 records the implicit types too (row types of tables and views,
	   -- array types), made with their owners and attacked through them
	   AND NOT (d.classid = 'pg_type'::regclass AND d.objid IN (
	            SELECT oid FROM pg_type
	             WHERE typrelid <> 0 OR (typcategory = 'A' AND typelem <> 0)))
	 ORDER BY 1, 2"
}

# the statement an unprivileged role plants for an object: planted_sql KIND IDENTITY
planted_sql()
{
	case $1 in
		table) echo "CREATE TABLE $2 (x int)" ;;
		sequence) echo "CREATE SEQUENCE $2" ;;
		view) echo "CREATE VIEW $2 AS SELECT 1 AS x" ;;
		index) echo "CREATE TABLE public.atk_t (x int); CREATE INDEX ${2#public.} ON public.atk_t (x)" ;;
		type) echo "CREATE TYPE $2 AS (x int)" ;;
		function)
			echo "CREATE FUNCTION $2 RETURNS void LANGUAGE sql
				AS \$\$INSERT INTO public.atk_log VALUES (current_user)\$\$"
			;;
	esac
}

# A function whose arguments are the extension's own type or cstring cannot
# be made by an unprivileged role beforehand: the type does not exist yet
# (planting the type itself is attacked as an object of its own), and only
# C functions, which need a superuser, take cstring.  unplantable IDENTITY ERR
# says whether the planting failed for that reason.
unplantable()
{
	case $1 in
		*transfer_guard_column* | *cstring*)
			grep -qE 'type public\.transfer_guard_column does not exist|cannot have arguments of type cstring' <<<"$2"
			;;
		*) return 1 ;;
	esac
}

# SQL giving the owner of a planted object: owner_sql KIND IDENTITY
owner_sql()
{
	case $1 in
		function) echo "SELECT proowner::regrole FROM pg_proc WHERE oid = to_regprocedure('$2')" ;;
		type) echo "SELECT typowner::regrole FROM pg_type WHERE oid = to_regtype('$2')" ;;
		*) echo "SELECT relowner::regrole FROM pg_class WHERE oid = to_regclass('$2')" ;;
	esac
}

# 2. the objects of the extension, from a reference installation
fresh "$ref" || exit 1
q -d "$ref" -c 'CREATE EXTENSION transfer_guard' || exit 1
mapfile -t objects < <(extension_objects "$ref")
q -d postgres -c "DROP DATABASE $ref"
check "the reference installation has objects to attack (found ${#objects[@]})" \
	"$([ ${#objects[@]} -ge 6 ] && echo 1)"

for entry in "${objects[@]}"; do
	kind=${entry%%|*}
	identity=${entry#*|}
	plant=$(planted_sql "$kind" "$identity")
	fresh "$db" || exit 1
	q -d "$db" -c "GRANT CREATE ON SCHEMA public TO atk_installer" \
		-c "CREATE TABLE public.atk_log (who name)" -c "GRANT INSERT ON public.atk_log TO PUBLIC" || exit 1
	if ! err=$(q -d "$db" -c "SET ROLE atk_installer" -c "$plant" 2>&1); then
		if unplantable "$identity" "$err"; then
			check "$kind $identity cannot be planted beforehand: its arguments are the extension's own type or cstring" 1
		else
			check "$kind $identity can be planted by an unprivileged role (test setup)" 0 "$err"
		fi
		continue
	fi
	out=$(q -d "$db" -c 'CREATE EXTENSION transfer_guard' 2>&1)
	status=$?
	owner=$(owner_sql "$kind" "$identity")
	state=$(q -d "$db" -c "SELECT
		(SELECT count(*) FROM pg_extension WHERE extname = 'transfer_guard') || ' ' ||
		(SELECT count(*) FROM public.atk_log) || ' ' || COALESCE(($owner)::text, 'gone')")
	check "a planted $kind $identity makes CREATE EXTENSION fail, unrun, and stays the attacker's" \
		"$([ "$status" -ne 0 ] && [ "$state" = "0 0 atk_installer" ] && echo 1)" \
		"CREATE EXTENSION exit status $status: $out
extensions, planted-code runs, owner of the planted object: $state"
done

# 2b. the same for the upgrade: every object that only ALTER EXTENSION ...
# UPDATE creates, planted beforehand, makes the update fail unrun
fresh "$ref" || exit 1
q -d "$ref" -c "CREATE EXTENSION transfer_guard VERSION '1.0'" || exit 1
mapfile -t old_objects < <(extension_objects "$ref")
q -d postgres -c "DROP DATABASE $ref"
new_objects=()
for entry in "${objects[@]}"; do
	found=0
	for old in "${old_objects[@]}"; do
		[ "$old" = "$entry" ] && found=1
	done
	[ "$found" = 0 ] && new_objects+=("$entry")
done
check "the update to the current version creates objects to attack (found ${#new_objects[@]})" \
	"$([ ${#new_objects[@]} -ge 3 ] && echo 1)"

for entry in "${new_objects[@]}"; do
	kind=${entry%%|*}
	identity=${entry#*|}
	plant=$(planted_sql "$kind" "$identity")
	fresh "$db" || exit 1
	q -d "$db" -c "CREATE EXTENSION transfer_guard VERSION '1.0'" \
		-c "GRANT CREATE ON SCHEMA public TO atk_installer" \
		-c "CREATE TABLE public.atk_log (who name)" -c "GRANT INSERT ON public.atk_log TO PUBLIC" || exit 1
	if ! err=$(q -d "$db" -c "SET ROLE atk_installer" -c "$plant" 2>&1); then
		if unplantable "$identity" "$err"; then
			check "$kind $identity cannot be planted before the update: its arguments are the extension's own type or cstring" 1
		else
			check "$kind $identity can be planted before the update by an unprivileged role (test setup)" 0 "$err"
		fi
		continue
	fi
	out=$(q -d "$db" -c 'ALTER EXTENSION transfer_guard UPDATE' 2>&1)
	status=$?
	owner=$(owner_sql "$kind" "$identity")
	state=$(q -d "$db" -c "SELECT
		(SELECT extversion FROM pg_extension WHERE extname = 'transfer_guard') || ' ' ||
		(SELECT count(*) FROM public.atk_log) || ' ' || COALESCE(($owner)::text, 'gone')")
	check "a planted $kind $identity makes ALTER EXTENSION UPDATE fail, unrun, and stays the attacker's" \
		"$([ "$status" -ne 0 ] && [ "$state" = "1.0 0 atk_installer" ] && echo 1)" \
		"ALTER EXTENSION exit status $status: $out
version, planted-code runs, owner of the planted object: $state"
done

# 3. a same-name function with other arguments cannot be refused by the
# script; say what a caller then gets (a note, not a claim of the README)
fresh "$db" || exit 1
q -d "$db" -c "GRANT CREATE ON SCHEMA public TO atk_installer" \
	-c "CREATE TABLE public.atk_log (who name)" -c "GRANT INSERT ON public.atk_log TO PUBLIC" \
	-c "SET ROLE atk_installer" \
	-c "CREATE FUNCTION public.transfer(regclass, integer, integer, numeric, OUT transfer_id bigint, OUT from_balance numeric, OUT to_balance numeric)
		LANGUAGE sql AS \$\$INSERT INTO public.atk_log VALUES (current_user); SELECT 0::bigint, 0::numeric, 0::numeric\$\$" \
	-c "RESET ROLE" -c 'CREATE EXTENSION transfer_guard' \
	-c "CREATE TABLE acc (id bigint PRIMARY KEY, bal bigint NOT NULL)" \
	-c "INSERT INTO acc VALUES (1, 10), (2, 10)" -c "SELECT guard('acc', 'bal')" >/dev/null 2>&1
who=$(q -d "$db" -c "SELECT * FROM transfer('acc', 1, 2, 5)" -c "SELECT string_agg(who, ',') FROM public.atk_log" 2>&1 | tail -1)
echo "# note: with public writable by others, an overload public.transfer(regclass, integer, integer, numeric)"
echo "# planted before or after CREATE EXTENSION is what transfer('acc', 1, 2, 5) calls: the planted code ran as: ${who:-nobody}"

q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE atk_installer"
