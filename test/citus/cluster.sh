#!/bin/bash
#
# test/citus/cluster.sh -- a local Citus cluster for the tests: a
# coordinator and two workers on 127.0.0.1, each its own data directory and
# free port under one directory.
#
#     test/citus/cluster.sh source        print the Citus source directory
#     test/citus/cluster.sh build PG_CONFIG   build and install Citus for that
#                                         server, unless it is there already
#     test/citus/cluster.sh start DIR     make and start it; prints the ports
#     test/citus/cluster.sh stop DIR      stop every node (DIR stays)
#
# build runs ../shared/citus/build.sh beside the repository (or the one in
# TG_CITUS_DIR), as root or through sudo.  start and stop run as the user
# that owns DIR, not root (PostgreSQL refuses root).  DIR/ports
# holds "coordinator worker1 worker2"; DIR/NAME.log each node's log.  Every
# node has max_prepared_transactions set, for Citus's two-phase commit, and
# the database tg_citus with the citus extension; the coordinator is
# registered with citus_set_coordinator_host() and the workers added with
# citus_add_node().
#
set -euo pipefail

cmd=${1:?"usage: cluster.sh source | build PG_CONFIG | start DIR | stop DIR"}
dir=${2:-}
if [ "$cmd" != source ] && [ -z "$dir" ]; then
	echo "usage: cluster.sh source | build PG_CONFIG | start DIR | stop DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)

# The directory of Citus's source and build.sh: TG_CITUS_DIR, or
# ../shared/citus beside the repository
citus_source()
{
	local d

	for d in "${TG_CITUS_DIR:-}" "$here/../../../shared/citus" "$here/../../../../shared/citus"; do
		if [ -n "$d" ] && [ -x "$d/build.sh" ]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	return 1
}
nodes=(coordinator worker1 worker2)

# a port nothing listens on (each node is started before the next port is
# chosen)
free_port()
{
	local port

	while :; do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

psql_at()
{
	local port=$1
	shift
	psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -d tg_citus "$@"
}

case $cmd in
	source)
		# where the Citus source is, or nothing (status 1)
		citus_source
		;;
	build)
		pg_config=$dir
		if ! source=$(citus_source); then
			echo "cluster.sh: no Citus source (../shared/citus beside the repository): set TG_CITUS_DIR" >&2
			exit 1
		fi
		# Citus is built with its own flags, not the ones given for
		# transfer_guard (test/check.sh exports -Werror under CI)
		build=(env -u PG_CFLAGS -u PG_CPPFLAGS -u PG_LDFLAGS -u COPT -u PROFILE
			bash "$source/build.sh" "$pg_config")
		if [ "$(id -u)" -eq 0 ]; then
			"${build[@]}"
		else
			sudo "${build[@]}"
		fi
		;;
	start)
		mkdir -p "$dir"
		ports=()
		for n in "${nodes[@]}"; do
			initdb -D "$dir/$n" -A trust -U postgres --no-sync >/dev/null
			cat >>"$dir/$n/postgresql.conf" <<CONF
include_if_exists = 'port.conf'
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus'
max_prepared_transactions = 100
max_connections = 100
log_min_messages = warning
citus.log_distributed_deadlock_detection = on
# the tests resolve prepared transactions themselves, and count them
citus.recover_2pc_interval = -1
CONF
			# a free port may be taken before the node binds it (another
			# cluster starting): try another one
			for attempt in 1 2 3 4 5; do
				port=$(free_port)
				echo "port = $port" >"$dir/$n/port.conf"
				if pg_ctl -D "$dir/$n" -l "$dir/$n.log" -w start >/dev/null; then
					break
				fi
				[ "$attempt" -lt 5 ] || exit 1
				echo "$n: port $port was taken; trying another" >&2
			done
			ports+=("$port")
			psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
				-c "CREATE DATABASE tg_citus" >/dev/null
			psql_at "$port" -U postgres -c "CREATE EXTENSION citus" >/dev/null
		done
		echo "${ports[*]}" >"$dir/ports"
		psql_at "${ports[0]}" -U postgres \
			-c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" \
			-c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
			-c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
		echo "${ports[*]}"
		;;
	stop)
		for n in "${nodes[@]}"; do
			if [ -f "$dir/$n/postmaster.pid" ]; then
				pg_ctl -D "$dir/$n" -m immediate -w stop >/dev/null 2>&1 || true
			fi
		done
		;;
	*)
		echo "usage: cluster.sh source | build PG_CONFIG | start DIR | stop DIR" >&2
		exit 2 ;;
esac
