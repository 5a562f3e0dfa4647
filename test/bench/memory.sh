#!/bin/bash
#
# test/bench/memory.sh -- does one backend's memory stay flat over many
# transfer() calls?
#
#     test/bench/memory.sh               1,000,000 calls: about 5 minutes
#     test/bench/memory.sh --calls N     N calls (at least 20,000)
#
# A benchmark, not a test: it reports figures and gates nothing, and
# test/check.sh does not run it.  It prepares the machine as test/check.sh
# does (packages, build, install; TG_NO_BUILD=1 measures the extension as
# installed) and runs in a throwaway cluster (fsync on) on a free port.
#
# One session calls transfer() N times between random accounts of 100,000
# (setup.sql's bench_memory_calls: a procedure, committing every 10,000
# calls, the anycompatible and the text overload in turn, the journal on), after
# a warm-up of 10,000 calls that fills the caches.  Ten times along the way,
# and once more after the procedure has returned, it records the backend's
# memory contexts (pg_backend_memory_contexts) and its private resident
# memory (RssAnon).  It prints:
#   - one line per sample: calls so far, number of memory contexts, their
#     total and used bytes, the CachedPlanSource and CachedPlan contexts (the
#     kept plans), the transfer_guard contexts (the per-table cache), RssAnon,
#     and the call rate since the previous sample;
#   - the contexts, by name, whose count or size changed between the sample
#     after the warm-up and the last one in the loop.
# Flat means: the figures of the samples in the loop stay the same (a few kB
# of allocator noise aside) however many calls are made.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

calls=1000000
in_cluster=0
args=("$@")

usage()
{
	sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
		--calls) calls=${2:?}; shift ;;
		--in-cluster) in_cluster=1 ;;
		*) usage ;;
	esac
	shift
done
if ! [[ "$calls" =~ ^[1-9][0-9]*$ ]] || [ "$calls" -lt 20000 ]; then
	usage
fi

if [ "$in_cluster" = 0 ]; then
	bench_outside "$here/memory.sh" -- "${args[@]}"
	exit
fi
bench_started

warmup=10000
commit_every=10000
samples=10
# samples right after a commit, so that each one finds the same state
sample_every=$(((calls / samples + commit_every - 1) / commit_every * commit_every))

tg_say "memory: setting up $BENCH_ACCOUNTS accounts" >&2
bench_setup

tg_say "memory: $warmup warm-up calls, then $calls calls in one session" >&2
bench_psql <<EOF
SET synchronous_commit = off;
CALL bench_memory_calls($warmup, $BENCH_ACCOUNTS, $commit_every, $warmup, 0);
CALL bench_memory_calls($calls, $BENCH_ACCOUNTS, $commit_every, $sample_every, $warmup);
CALL bench_memory_sample($warmup + $calls, 'after');
EOF

echo "# transfer_guard memory over $calls calls of transfer() in one backend"
echo
echo '```'
bench_describe
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo '```'
echo
echo "Samples (the first after $warmup warm-up calls; \"in loop\" ones taken inside the"
echo "calling procedure, \"after\" once it has returned):"
echo
psql -X -q -P footer=off -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<'EOF'
SELECT c.calls_done AS calls, c.stage,
	sum(c.contexts) AS contexts,
	round(sum(c.total_bytes) / 1024.0) AS "total kB",
	round(sum(c.used_bytes) / 1024.0) AS "used kB",
	sum(c.contexts) FILTER (WHERE c.name = 'CachedPlanSource') AS "CachedPlanSource",
	sum(c.contexts) FILTER (WHERE c.name = 'CachedPlan') AS "CachedPlan",
	coalesce(sum(c.contexts) FILTER (WHERE c.name LIKE 'transfer_guard%'), 0) AS "transfer_guard ctx",
	round(coalesce(sum(c.total_bytes) FILTER (WHERE c.name LIKE 'transfer_guard%'), 0) / 1024.0, 1)
		AS "transfer_guard kB",
	r.rss_anon_kb AS "RssAnon kB",
	round(nullif(c.calls_done - lag(c.calls_done) OVER w, 0)
		/ nullif(extract(epoch FROM r.taken_at - lag(r.taken_at) OVER w), 0)) AS "calls/s"
FROM bench_memory_contexts c
JOIN bench_memory_rss r USING (calls_done, stage)
GROUP BY c.calls_done, c.stage, r.rss_anon_kb, r.taken_at
WINDOW w AS (ORDER BY r.taken_at)
ORDER BY r.taken_at;
EOF

echo
echo "Contexts that changed from the first sample to the last one in the loop:"
echo
psql -X -q -P footer=off -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<'EOF'
WITH first AS (
	SELECT * FROM bench_memory_contexts
	WHERE calls_done = (SELECT min(calls_done) FROM bench_memory_contexts)
), last AS (
	SELECT * FROM bench_memory_contexts
	WHERE stage = 'in loop'
	AND calls_done = (SELECT max(calls_done) FROM bench_memory_contexts WHERE stage = 'in loop')
)
SELECT coalesce(l.name, f.name) AS context,
	coalesce(f.contexts, 0) AS "count first", coalesce(l.contexts, 0) AS "count last",
	coalesce(f.total_bytes, 0) AS "bytes first", coalesce(l.total_bytes, 0) AS "bytes last",
	coalesce(l.total_bytes, 0) - coalesce(f.total_bytes, 0) AS "bytes change"
FROM first f FULL JOIN last l ON l.name = f.name
WHERE f.contexts IS DISTINCT FROM l.contexts OR f.total_bytes IS DISTINCT FROM l.total_bytes
ORDER BY abs(coalesce(l.total_bytes, 0) - coalesce(f.total_bytes, 0)) DESC, 1
LIMIT 20;
EOF

echo
bench_psql <<'EOF'
WITH s AS (
	SELECT calls_done, sum(total_bytes) AS bytes FROM bench_memory_contexts
	WHERE stage = 'in loop' GROUP BY calls_done
)
SELECT format('in the loop: %s bytes of memory contexts after %s calls, %s after %s: %s bytes per 1,000 calls',
	f.bytes, f.calls_done, l.bytes, l.calls_done,
	round((l.bytes - f.bytes) * 1000.0 / (l.calls_done - f.calls_done), 1))
FROM s f, s l
WHERE f.calls_done = (SELECT min(calls_done) FROM s) AND l.calls_done = (SELECT max(calls_done) FROM s);
EOF
