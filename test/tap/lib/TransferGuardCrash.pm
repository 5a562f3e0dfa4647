
# test/tap/lib/TransferGuardCrash.pm -- crash a server under transfer load,
# restart it, and check what survived.  Used by test/tap/t/*.pl.
#
# One series: a cluster with one database "bank" holding
#
#   accounts (id int PRIMARY KEY, balance bigint)   guarded: floor 0, ceiling 2500,
#                                                  10 accounts starting at 1000
#   acked_log (transfer_id, from_id, to_id, amount)  the caller's own record
#
# (balance is deliberately nullable, so that the "no NULL balance" check can
# fail).  In every round, a few psql clients each run a generated script of
# transfers between random accounts, each one transaction:
#
#   BEGIN;
#   SELECT transfer_id FROM transfer('accounts', a, b, amount) \gset
#   INSERT INTO acked_log VALUES (:transfer_id, a, b, amount);
#   COMMIT;
#   \echo ACK ...        -- only when COMMIT was reported successful
#
# and the server is crashed at a random moment, in one of two ways taken in
# turn: every server process (postmaster and children) killed with SIGKILL at
# once, then a restart; or one client's backend killed with SIGKILL in the
# middle of its work, so that PostgreSQL itself resets every process and
# replays the WAL (restart_after_crash).  Both leave crash recovery to do.
# What is simulated is the death of the server's processes: the operating
# system and its page cache survive, so WAL written but not fsynced survives
# too (the framework's fsync = off therefore changes nothing here); a power
# failure is not simulated.
#
# After each restart the series checks:
#   - the invariants: 10 accounts, total 10000, no NULL balance, none below
#     the floor or above the ceiling;
#   - every balance equals its start plus the credits minus the debits of the
#     acked_log rows, and the extension's journal holds exactly the transfers
#     of acked_log (a transfer, its journal row and the caller's INSERT
#     committed together or not at all);
#   - every acknowledged transfer is in acked_log with its accounts and amount
#     (when synchronous_commit is on); when it is off, acknowledged transfers
#     may be lost, but what a client lost is always the tail of what it was
#     acknowledged (the WAL that survives is a prefix);
#   - rows committed but never acknowledged are at most one per client (the
#     transaction in flight when the server died);
#   - no client saw an error other than a refusal (23514) or the loss of its
#     connection;
#   - a transfer after the restart gets an id above every id in acked_log
#     (ids are not handed out twice), and the guard is still in place.
#
# run_series() is built of pieces other tests use with a setup of their own
# (test/tap/t/003_crash_hot_rows.pl): start_clients() and finish_clients()
# (the psql clients, whose scripts write_script() makes, with a choice of
# transfers of the caller's and an optional stop flag), compare_acks() (the
# acknowledged transfers against acked_log), crash() (which can also kill
# the transfer_guard maintenance worker) and check().
#
package TransferGuardCrash;

use strict;
use warnings;

use IPC::Run;
use TgTap;
use Test::More;
use Time::HiRes qw(usleep);

our $ACCOUNTS = 10;
our $START = 1000;
our $FLOOR = 0;
our $CEILING = 2500;
our $MAX_AMOUNT = 1500;		# above the start and above the room under the ceiling

# SQLSTATEs a client may see because the server went away under it; the
# empty one is libpq's own report of a lost connection (a server error always
# has a SQLSTATE)
my %CRASH_STATES = map { $_ => 1 } ('', qw(57P01 57P02 57P03 08000 08003 08006));

# an amount as the clients' scripts print it: whole, or with decimals
my $AMOUNT_RE = qr/\d+(?:\.\d+)?/;

# run_series(name => ..., synchronous_commit => 'on'|'off', crashes => N,
#            clients => N, transfers_per_client => N)
# Runs the rounds, reports each check with Test::More, and returns a hash of
# figures.
sub run_series
{
	my (%p) = @_;
	my $name = $p{name};
	my $crashes = $p{crashes};
	my $clients = $p{clients};
	my $per_client = $p{transfers_per_client};
	my $sync = $p{synchronous_commit};
	my $durable = $sync eq 'on';

	my $node = TgTap::new_node($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
synchronous_commit = $sync
restart_after_crash = on
log_statement = none
max_connections = 20
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE bank');
	$node->safe_psql('bank', qq{
CREATE EXTENSION transfer_guard;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint);
INSERT INTO accounts SELECT g, $START FROM generate_series(1, $ACCOUNTS) g;
SELECT guard('accounts', 'balance', $FLOOR, $CEILING, journal => true);
CREATE TABLE acked_log (
	transfer_id bigint PRIMARY KEY,
	from_id int NOT NULL,
	to_id int NOT NULL,
	amount bigint NOT NULL
);
});

	my $dir = TgTap::tempdir("${name}_clients");
	my %fig = (crashes => 0, acknowledged => 0, lost => 0, refused => 0,
		unacknowledged_committed => 0, checks => 0, kill_all => 0,
		kill_backend => 0);
	my $rows_before = 0;

	for my $round (1 .. $crashes)
	{
		my $how = $round % 2 ? 'kill_all' : 'kill_backend';
		my $runs = start_clients($node, $dir, "round$round", $clients, $per_client);

		# let the clients work for a random moment, then crash
		usleep(int(200_000 + rand(1_000_000)));
		$how = crash($node, $how);
		$fig{$how}++;
		$fig{crashes}++;

		# every client ends: with its connection lost, or at its script's end
		my $ended = finish_clients($runs, \%fig);
		my @acks = @{ $ended->{acks} };	# per client: list of [id, from, to, amount]
		my ($unexpected, $bad_exit) = @$ended{qw(unexpected bad_exit)};
		my @unexpected_lines = @{ $ended->{unexpected_lines} };
		my $acked = 0;
		$acked += scalar(@$_) for @acks;
		$fig{acknowledged} += $acked;

		my $tag = "$name round $round ($how, $acked acknowledged)";
		check(\%fig, $unexpected == 0 && $bad_exit == 0,
			"$tag: clients saw no unexpected error")
		  or diag("client output: @unexpected_lines; exit codes not 0 or 2: $bad_exit");

		# the invariants
		my $inv = $node->safe_psql('bank', qq{
SELECT count(*), sum(balance), count(*) FILTER (WHERE balance IS NULL),
	   count(*) FILTER (WHERE balance < $FLOOR), count(*) FILTER (WHERE balance > $CEILING)
FROM accounts});
		check(\%fig, $inv eq join('|', $ACCOUNTS, $ACCOUNTS * $START, 0, 0, 0),
			"$tag: $ACCOUNTS accounts, total " . ($ACCOUNTS * $START)
			  . ", no NULL balance, none outside [$FLOOR, $CEILING]")
		  or diag("count|sum|nulls|below|above = $inv");

		# balances agree with the caller's log
		my $mismatch = $node->safe_psql('bank', qq{
SELECT coalesce(string_agg(format('%s: %s, log says %s', a.id, a.balance, $START + coalesce(j.delta, 0)), '; '), '')
FROM accounts a
LEFT JOIN (SELECT id, sum(delta) AS delta
		   FROM (SELECT from_id AS id, -amount AS delta FROM acked_log
				 UNION ALL
				 SELECT to_id, amount FROM acked_log) moves
		   GROUP BY id) j USING (id)
WHERE a.balance IS DISTINCT FROM $START + coalesce(j.delta, 0)});
		check(\%fig, $mismatch eq '',
			"$tag: every balance equals its start plus the credits minus the debits in acked_log")
		  or diag("accounts that disagree: $mismatch");

		# the extension's journal, written in the same transactions, holds
		# exactly the transfers of the caller's log
		my $journal = $node->safe_psql('bank', q{
WITH j AS (SELECT transfer_id, from_key::int AS from_id, to_key::int AS to_id, amount
		   FROM transfer_guard_journal WHERE from_table = 'accounts'::regclass),
	 l AS (SELECT transfer_id, from_id, to_id, amount::numeric FROM acked_log)
SELECT (SELECT count(*) FROM (TABLE j EXCEPT TABLE l) x) || ' ' || (SELECT count(*) FROM (TABLE l EXCEPT TABLE j) y)});
		check(\%fig, $journal eq '0 0',
			"$tag: the journal holds exactly the transfers in acked_log")
		  or diag("journal rows not in acked_log, acked_log rows not in the journal: $journal");

		# acknowledged transfers against the log
		my $cmp = compare_acks($node, \@acks);
		my ($present, $lost, $altered, $not_tail) = @$cmp{qw(present lost altered not_tail)};
		$fig{lost} += $lost;
		check(\%fig, $altered == 0,
			"$tag: every acknowledged transfer found in acked_log has its accounts and amount")
		  or diag("$altered altered");
		if ($durable)
		{
			check(\%fig, $lost == 0,
				"$tag: every acknowledged transfer is in acked_log")
			  or diag("$lost of $acked acknowledged transfers missing");
		}
		else
		{
			check(\%fig, $not_tail == 0,
				"$tag: what each client lost ($lost in all) is the tail of what it was acknowledged")
			  or diag("$not_tail acknowledged transfers survived after a lost one of the same client");
		}

		# committed but not acknowledged: at most the one in flight per client
		my $rows = $cmp->{rows};
		my $unacked = $rows - $rows_before - $present;
		$fig{unacknowledged_committed} += $unacked;
		check(\%fig, $unacked >= 0 && $unacked <= $clients,
			"$tag: at most one committed but unacknowledged transfer per client")
		  or diag("$unacked new rows were never acknowledged");
		$rows_before = $rows;

		# ids are not handed out again, and the guard survived; the probe moves
		# 1 from the richest account to the poorest, which no limit refuses
		my $max_id = $node->safe_psql('bank', 'SELECT coalesce(max(transfer_id), 0) FROM acked_log');
		my $next = $node->safe_psql('bank', q{
BEGIN;
SELECT transfer_id FROM transfer('accounts',
	(SELECT id FROM accounts ORDER BY balance DESC, id LIMIT 1),
	(SELECT id FROM accounts ORDER BY balance, id DESC LIMIT 1), 1);
ROLLBACK;});
		check(\%fig, $next =~ /^\d+$/ && $next > $max_id,
			"$tag: the next transfer id is above every logged id")
		  or diag("next id '$next', highest logged $max_id");
		my $guard = $node->safe_psql('bank',
			"SELECT min_balance || '|' || max_balance FROM transfer_guards WHERE tbl = 'accounts'::regclass");
		check(\%fig, $guard eq "$FLOOR|$CEILING", "$tag: the guard is still in place")
		  or diag("guard: '$guard'");
	}
	$node->stop;
	return \%fig;
}

# ok() that also counts the checks that passed
sub check
{
	my ($fig, $pass, $name) = @_;
	$fig->{checks}++ if $pass;
	return ok($pass, $name);
}

# start_clients($node, $dir, $label, $clients, $per_client, %script)
# Starts $clients psql clients on database "bank" (application_name
# tg_crash_client, which crash() picks its victims by), each running a
# script of $per_client transfers written by write_script($path,
# $per_client, %script) under $dir with names starting with $label.  Returns
# the list of the runs, for finish_clients().
sub start_clients
{
	my ($node, $dir, $label, $clients, $per_client, %script) = @_;
	my @runs;

	for my $c (0 .. $clients - 1)
	{
		my $path = "$dir/$label.client$c.sql";
		write_script($path, $per_client, %script);
		my @cmd = ('psql', '-X', '-q', '-A', '-t', '-d',
			$node->connstr('bank') . " application_name=tg_crash_client",
			'-f', $path);
		my $out = "$dir/$label.client$c.out";
		my $err = "$dir/$label.client$c.err";
		push @runs, {
			out => $out,
			err => $err,
			h => IPC::Run::start(\@cmd, '<', \undef, '>', $out, '2>', $err,
				IPC::Run::timeout($TgTap::timeout_default)),
		};
	}
	return \@runs;
}

# finish_clients($runs, $fig)
# Waits for the clients of start_clients() to end (with their connection
# lost, or at their script's end) and reads what each printed.  Counts the
# refusals in $fig->{refused}.  Returns a hash: acks (per client, the list
# of [id, from, to, amount] acknowledged, in order), unexpected (lines that
# are neither an acknowledgement, a refusal nor the loss of the connection
# as its last line), unexpected_lines, and bad_exit (clients whose psql
# ended with a status other than 0 or 2).
sub finish_clients
{
	my ($runs, $fig) = @_;
	my ($unexpected, $bad_exit) = (0, 0);
	my @unexpected_lines;
	my @acks;

	for my $r (@$runs)
	{
		eval { $r->{h}->finish; 1 } or do { $r->{h}->kill_kill; };
		my $code = $r->{h}->result(0) // -1;
		$bad_exit++ unless $code == 0 || $code == 2;
		my @mine;
		my $lost_connection = 0;	# a failure from the crash: must be the last line
		my $unfinished = 0;	# a transfer id printed, its statement cut off
		open my $fh, '<', $r->{out} or die "$r->{out}: $!";
		while (my $line = <$fh>)
		{
			chomp $line;
			if ($lost_connection)
			{
				$unexpected++;
				push @unexpected_lines, "(after a lost connection) $line";
			}
			elsif ($line =~ /^\d+$/ && !$unfinished)
			{
				# psql 15 prints a result instead of \gset-ting it when
				# the connection is lost before the statement's end:
				# the transfer was in flight, not acknowledged
				$unfinished = 1;
			}
			elsif ($unfinished && $line !~ /^FAIL /)
			{
				$unexpected++;
				push @unexpected_lines, "(after a cut-off statement) $line";
			}
			elsif ($line =~ /^ACK (\d+) (\d+) (\d+) ($AMOUNT_RE)$/)
			{
				push @mine, [ $1, $2, $3, $4 ];
			}
			elsif ($line =~ /^FAIL (\S*) \d+ \d+ $AMOUNT_RE$/)
			{
				if ($1 eq '23514') { $fig->{refused}++; }
				elsif ($CRASH_STATES{$1}) { $lost_connection = 1; }
				else { $unexpected++; push @unexpected_lines, $line; }
			}
			else
			{
				$unexpected++;
				push @unexpected_lines, $line;
			}
		}
		close $fh;
		push @acks, \@mine;
	}
	return {
		acks => \@acks,
		unexpected => $unexpected,
		unexpected_lines => \@unexpected_lines,
		bad_exit => $bad_exit,
	};
}

# compare_acks($node, $acks)
# The acknowledged transfers of finish_clients() against acked_log: present
# (found), lost (not found), altered (found with other accounts or another
# amount), not_tail (found after a lost one of the same client), and rows
# (the rows of acked_log).
sub compare_acks
{
	my ($node, $acks) = @_;
	my %logged;

	for my $row (split /\n/, $node->safe_psql('bank',
			'SELECT transfer_id, from_id, to_id, amount FROM acked_log'))
	{
		my @f = split /\|/, $row;
		$logged{ $f[0] } = "$f[1] $f[2] $f[3]";
	}
	my ($present, $lost, $altered, $not_tail) = (0, 0, 0, 0);
	for my $mine (@$acks)
	{
		my $seen_lost = 0;
		for my $a (@$mine)
		{
			my ($id, @move) = @$a;
			if (!exists $logged{$id})
			{
				$lost++;
				$seen_lost = 1;
			}
			else
			{
				$present++;
				$altered++ if $logged{$id} ne "@move";
				$not_tail++ if $seen_lost;
			}
		}
	}
	return {
		present => $present,
		lost => $lost,
		altered => $altered,
		not_tail => $not_tail,
		rows => scalar(keys %logged),
	};
}

# The psql script of one transfer, from :src to :dst of :amount, included
# by the clients' scripts.  A line "ACK id src dst amount" is printed only
# after COMMIT returned success; a failure prints "FAIL sqlstate src dst
# amount" (after the ROLLBACK, unless the COMMIT itself failed).  When the
# connection is lost, psql ends at the failing statement or at the next one,
# so a last FAIL line with a crash's SQLSTATE, or none, may come first.
my $ONE_TRANSFER = <<'EOS';
BEGIN;
SELECT transfer_id FROM transfer('accounts', :src, :dst, :amount) \gset
\if :ERROR
\set state :SQLSTATE
ROLLBACK;
\echo FAIL :state :src :dst :amount
\else
INSERT INTO acked_log (transfer_id, from_id, to_id, amount) VALUES (:transfer_id, :src, :dst, :amount);
\if :ERROR
\set state :SQLSTATE
ROLLBACK;
\echo FAIL :state :src :dst :amount
\else
COMMIT;
\if :ERROR
\echo FAIL :SQLSTATE :src :dst :amount
\else
\echo ACK :transfer_id :src :dst :amount
\endif
\endif
\endif
EOS

# write_script($path, $n, %opt)
# A client's psql script: n transfers, each running the script above; by
# default between random distinct accounts, of a random amount up to
# $MAX_AMOUNT.  Options:
#   pick => sub returning (src, dst, amount) for each transfer
#   stop_every => N: every N transfers, the client quits if the table
#                 tg_stop (which the caller makes) has a row
sub write_script
{
	my ($path, $n, %opt) = @_;
	my $one = "$path.one";
	open my $fh, '>', $one or die "$one: $!";
	print $fh $ONE_TRANSFER;
	close $fh;
	open $fh, '>', $path or die "$path: $!";
	print $fh "\\set VERBOSITY terse\n";
	for my $i (1 .. $n)
	{
		my ($src, $dst, $amount);
		if ($opt{pick})
		{
			($src, $dst, $amount) = $opt{pick}->();
		}
		else
		{
			$src = 1 + int(rand($ACCOUNTS));
			$dst = 1 + ($src + int(rand($ACCOUNTS - 1))) % $ACCOUNTS;
			$amount = 1 + int(rand($MAX_AMOUNT));
		}
		print $fh "\\set src $src\n\\set dst $dst\n\\set amount $amount\n\\i $one\n";
		if ($opt{stop_every} && $i % $opt{stop_every} == 0)
		{
			print $fh "SELECT count(*) > 0 AS tg_stop FROM tg_stop \\gset\n"
			  . "\\if :tg_stop\n\\q\n\\endif\n";
		}
	}
	close $fh;
	return;
}

# The pids of the processes whose parent is pid
sub children
{
	my ($pid) = @_;
	my @kids;
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		open my $fh, '<', $stat or next;
		my $line = <$fh>;
		close $fh;
		next unless defined $line;
		# "pid (comm) state ppid ...": comm may hold spaces and parentheses
		my $rest = substr($line, rindex($line, ')') + 2);
		my (undef, $ppid) = split / /, $rest;
		push @kids, (split / /, $line)[0] if $ppid == $pid;
	}
	return @kids;
}

# true while pid exists; a zombie counts as existing unless zombie_ok
sub alive
{
	my ($pid, $zombie_ok) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $line = <$fh>;
	close $fh;
	return 0 unless defined $line;
	my $state = (split / /, substr($line, rindex($line, ')') + 2))[0];
	return !($zombie_ok && $state eq 'Z');
}

# the one server process that each way of crashing but kill_all kills
my %VICTIMS = (
	kill_backend => "application_name = 'tg_crash_client'",
	kill_worker => "backend_type = 'transfer_guard worker' AND datname = 'bank'",
);

# Crash the server the way named, wait until it is back, and return the way
# used: 'kill_all' (every server process), 'kill_backend' (a client's
# backend) or 'kill_worker' (the maintenance worker of database "bank",
# killed up to 3 ms after it is seen running, if it is within 2 seconds).
# 'kill_backend' and 'kill_worker' fall back to 'kill_all' when there is no
# such process to kill, as when every client has finished its script.  In
# list context, also returns a hash: victim (the pid killed, if one was) and
# running (whether it was seen running, not sleeping, just before).
sub crash
{
	my ($node, $how) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	my ($postmaster) = split /\n/, TgTap::slurp_file($pidfile);
	my %info;

	if ($VICTIMS{$how})
	{
		# the process, killed wherever it is in its transaction
		my @pids = split /\n/, $node->safe_psql('bank',
			"SELECT pid FROM pg_stat_activity WHERE $VICTIMS{$how}");
		my $victim = $pids[ int(rand(@pids)) ];
		my $offset = -s $node->logfile;
		if (defined $victim && $how eq 'kill_worker')
		{
			# the worker sleeps between its rounds: wait for one, and kill
			# it at a random point of its first few milliseconds, which
			# take it from finding the rows to settle to settling them
			$info{running} = wait_running($victim, 2);
			usleep(int(rand(3000))) if $info{running};
		}
		if (defined $victim && kill('KILL', $victim))
		{
			$info{victim} = $victim;
			# the postmaster notices, ends every process, replays the WAL
			$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
			$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
			return wantarray ? ($how, \%info) : $how;
		}
	}

	# every server process at once: all are stopped first (the postmaster
	# first, so that it starts nothing new), so none of them can see another
	# die and react (the postmaster ending the others, a backend exiting on
	# the postmaster's death); then all are killed
	kill 'STOP', $postmaster;
	my @kids = children($postmaster);
	kill 'STOP', @kids;
	kill 'KILL', $postmaster, @kids;
	$node->kill9;		# the framework's record: the node is down
	# wait for them to end; the postmaster must also have been reaped, as a
	# new one refuses to start while the pid in postmaster.pid exists
	my @wait = (map { [ $_, 1 ] } @kids);
	push @wait, [ $postmaster, 0 ];
	for my $w (@wait)
	{
		for (1 .. 600)
		{
			last unless alive(@$w);
			usleep(50_000);
		}
		die "process $w->[0] still there after SIGKILL" if alive(@$w);
	}
	$node->start;
	return wantarray ? ('kill_all', \%info) : 'kill_all';
}

# Wait up to $seconds for the process to be running (state R in
# /proc/pid/stat, not sleeping); true if it was seen running.
sub wait_running
{
	my ($pid, $seconds) = @_;
	my $until = Time::HiRes::time() + $seconds;

	while (Time::HiRes::time() < $until)
	{
		open my $fh, '<', "/proc/$pid/stat" or return 0;
		my $line = <$fh>;
		close $fh;
		return 0 unless defined $line;
		my $state = (split / /, substr($line, rindex($line, ')') + 2))[0];
		return 1 if $state eq 'R';
	}
	return 0;
}

1;
