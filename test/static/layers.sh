#!/bin/bash
#
# test/static/layers.sh -- the modules of src/ form layers, each calling
# only into the ones below it
#
# LAYERS lists the modules from the bottom up.  A module is a .c file and
# its header of the same name; table.h and request.h are data types only,
# and compat.h holds the version shims.  A file (.c or .h) may include the
# header of its own module and of any module listed before it, never of
# one listed after it.  Every src/ file must belong to a listed module, so
# that a new file is placed on purpose.  Prints one "ok"/"not ok" line per
# file and ends with "N passed, N failed".
#
# See docs/design.md for what each module owns.
#
set -uo pipefail

LAYERS=(
	compat			# version differences (header only)
	report			# names and error fields for messages
	table			# the cached description of a guarded table (types only)
	request			# a call, its legs and results (types only)
	amount			# exact arithmetic, balance types, amount checks
	keys			# key column and index, exact key conversion
	colref			# the transfer_guard_column type
	exec			# kept SPI plans, executor state, the row_path switch
	extension		# the extension's own objects, acting as their owner
	citus			# tables that Citus distributes, read from its catalogs
	registry		# the registry and the per-backend cache of guarded tables
	contention		# waits for rows, counted in shared memory
	rows			# the row path: access methods, no statements
	statements		# the statement path: SPI statements, kept plans
	checks			# privileges, limits of debits and credits
	guard			# guard() and unguard()
	pending			# hot rows and their pending credits
	slots			# escrow slots of hot rows
	hot				# set_hot(), current_balance(), settle()
	journal			# the journal
	idempotency		# idempotency keys
	engine			# the transfer engine
	holds			# hold(), capture(), release(), expiry
	worker			# the maintenance worker
	transfer_guard	# SQL-callable functions, _PG_init and the settings
)

src=$(cd "$(dirname "$0")/../../src" && pwd)
passed=0
failed=0

level()
{
	local i

	for i in "${!LAYERS[@]}"; do
		if [ "${LAYERS[$i]}" = "$1" ]; then
			echo "$i"
			return
		fi
	done
	echo -1
}

for file in "$src"/*.c "$src"/*.h; do
	name=$(basename "$file")
	module=${name%.*}
	own=$(level "$module")
	problems=()
	if [ "$own" -lt 0 ]; then
		problems+=("module $module is not in LAYERS")
	fi
	while read -r header; do
		# PostgreSQL's own headers are not modules of ours
		[ -e "$src/$header" ] || continue
		dep=${header%.h}
		lvl=$(level "$dep")
		if [ "$lvl" -lt 0 ]; then
			problems+=("includes $header, whose module is not in LAYERS")
		elif [ "$own" -ge 0 ] && [ "$lvl" -gt "$own" ]; then
			problems+=("includes $header, a module above $module")
		fi
	done < <(sed -nE 's/^#include "([^"]+)".*/\1/p' "$file")
	if [ ${#problems[@]} -eq 0 ]; then
		echo "ok - src/$name"
		passed=$((passed + 1))
	else
		echo "not ok - src/$name: ${problems[*]}"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
