
# test/tap/t/003_crash_hot_rows.pl
#
# Claim: hot rows survive crashes.  With the maintenance worker settling
# every 100 ms and synchronous_commit = on, the server is crashed while
# clients credit and debit two hot rows, the second with 4 escrow slots
# (and move money between ordinary rows), while committed credits are
# pending and while transactions are open, one of them holding uncommitted
# credits to both hot rows; every other round, that transaction has first
# debited a hot row, so it holds the first row locked with its pending
# credits folded in but not committed, or a slot of the second, and the
# credits that follow pile up pending (the worker skips a locked row, and
# a row whose slot is locked).
# After every restart:
#   - the exact balances (current_balance(), and the column plus the pending
#     credits plus the slots read in one snapshot) add up to the starting
#     total, no slot is below zero, and each
#     equals its start plus the credits minus the debits of the caller's log
#     (acked_log, written in the same transactions as the transfers);
#   - no column is NULL or below the floor, no exact balance below it either;
#   - the journal holds exactly the transfers of acked_log, every pending
#     credit is a deferred credit of the journal (same key, same amount, no
#     to_balance) and none is there twice or for a row that is not hot;
#   - every acknowledged transfer is in acked_log, and at most one per client
#     committed without its acknowledgement;
#   - transfer ids are not handed out twice, the guard and both hot marks
#     are still in place, the worker is running again;
#   - the server log since the round began has no error of the worker, no
#     other process ended by a signal than the one killed, no PANIC, and no
#     error of a client but refusals.
# The crashes take three ways in turn: every server process killed at once
# (SIGKILL), one client's backend killed, or the worker itself killed
# (within 3 ms of its waking up for a round, when caught running within 2
# seconds, so while it looks for pending credits or settles them); the last
# two leave it to the postmaster to reset every process.
#
# Then, with no load, the worker must settle every pending credit within a
# few seconds, after which every column plus its slots equals its exact balance.  Last,
# clients credit the hot rows (and never debit them, so only the worker
# settles) for a few seconds while the size of transfer_guard_pending is
# sampled: it must stay bounded, far below the number of credits made; then
# the worker must again settle everything.
#
# TG_CRASHES sets the number of crashes (default 6).  See
# test/tap/lib/TransferGuardCrash.pm for the clients and the crashes.
#
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use IPC::Run;
use Test::More;
use Time::HiRes qw(usleep);
use TgTap;
use TransferGuardCrash;

my $ACCOUNTS = 9;
my @HOT = (1, 2);			# the hot rows
my @PLAIN = (3 .. 8);		# the ordinary rows the clients use
my $IDLE = 9;				# debited only by the transaction left open
my $START = 10000;
my $TOTAL = $ACCOUNTS * $START;
my $FLOOR = 0;
my $INTERVAL_MS = 100;		# transfer_guard.settle_interval
my $CLIENTS = 4;
my $SETTLE_WITHIN = 10;		# seconds the worker has to settle everything
my $LOAD_SECONDS = 3;		# the load of the bounded pending check
my @WAYS = qw(kill_all kill_backend kill_worker);
my $crashes = $ENV{TG_CRASHES} || 6;

my %fig = (crashes => 0, kill_all => 0, kill_backend => 0, kill_worker => 0,
	worker_caught_running => 0, acknowledged => 0, lost => 0, refused => 0,
	unacknowledged_committed => 0, checks => 0, pending_at_crash => [],
	open_at_crash => [], pending_after_restart => [], worker_doing => []);

# an amount of cents, up to $max, as "units.cents"
sub amount
{
	my ($max) = @_;
	return sprintf('%.2f', (1 + int(rand($max * 100))) / 100);
}

sub one_of { return $_[ int(rand(@_)) ]; }

# the crash rounds' load: credits to the hot rows (from an ordinary row or
# the other hot row), debits of the hot rows, transfers between ordinary
# rows; now and then an amount that is usually refused
sub pick_mixed
{
	my $r = rand();
	my $big = rand() < 0.05;
	if ($r < 0.45)
	{
		my $dst = one_of(@HOT);
		my $src = rand() < 0.1 ? ($dst == $HOT[0] ? $HOT[1] : $HOT[0]) : one_of(@PLAIN);
		return ($src, $dst, amount($big ? 30000 : 200));
	}
	elsif ($r < 0.70)
	{
		return (one_of(@HOT), one_of(@PLAIN), amount($big ? 40000 : 360));
	}
	my $src = one_of(@PLAIN);
	my $dst = $PLAIN[ ($src - $PLAIN[0] + 1 + int(rand(@PLAIN - 1))) % @PLAIN ];
	return ($src, $dst, amount($big ? 30000 : 300));
}

# the bounded pending check's load: small credits to the hot rows, and
# transfers between ordinary rows; no debit of a hot row, which would settle it
sub pick_credits
{
	my $src = one_of(@PLAIN);
	if (rand() < 0.8)
	{
		return ($src, one_of(@HOT), amount(5));
	}
	my $dst = $PLAIN[ ($src - $PLAIN[0] + 1 + int(rand(@PLAIN - 1))) % @PLAIN ];
	return ($src, $dst, amount(5));
}

my $node = TgTap::new_node('hot');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'transfer_guard'
transfer_guard.settle_interval = ${INTERVAL_MS}ms
synchronous_commit = on
restart_after_crash = on
log_statement = none
max_connections = 20
log_line_prefix = '%m [%p] [%b] %e %q%a '
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE bank');
my $hot_list = join(', ', map { "'$_'" } @HOT);
$node->safe_psql('bank', qq{
CREATE EXTENSION transfer_guard;
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(14,2));
INSERT INTO accounts SELECT g, $START FROM generate_series(1, $ACCOUNTS) g;
SELECT guard('accounts', 'balance', $FLOOR, journal => true);
SELECT set_hot('accounts', '$HOT[0]');
SELECT set_hot('accounts', '$HOT[1]', slots => 4);
CREATE TABLE acked_log (
	transfer_id bigint PRIMARY KEY,
	from_id int NOT NULL,
	to_id int NOT NULL,
	amount numeric(14,2) NOT NULL
);
CREATE TABLE tg_stop ();
});
# the worker's database exists now: name it, and restart for it
$node->append_conf('postgresql.conf', "transfer_guard.settle_databases = 'bank'\n");
$node->restart;
my $log_start = -s $node->logfile;

check(worker_running(), 'the worker of database bank is running (pg_stat_activity)');

my $dir = TgTap::tempdir('hot_clients');
my $rows_before = 0;
my @victims;			# the processes killed one at a time

for my $round (1 .. $crashes)
{
	my $how = $WAYS[ ($round - 1) % @WAYS ];
	my $offset = -s $node->logfile;
	my $runs = TransferGuardCrash::start_clients($node, $dir, "round$round",
		$CLIENTS, 5000, pick => \&pick_mixed);

	# let the clients work for a random moment, open the transaction left
	# open, and crash a moment later; every other round, that transaction
	# holds a hot row locked, so that credits to it pile up pending
	my $locked = $round % 2 ? undef : $HOT[ ($round / 2) % @HOT ];
	usleep(int(200_000 + rand(800_000)));
	my $holder = start_holder($round, $locked);
	usleep($locked ? 300_000 : int(rand(300_000)));
	my ($pending, $open) = split /\|/, $node->safe_psql('bank', q{
SELECT (SELECT count(*) FROM transfer_guard_pending),
	   (SELECT count(*) FROM pg_stat_activity
		 WHERE application_name IN ('tg_crash_client', 'tg_crash_holder')
		   AND xact_start IS NOT NULL)});
	my $info;
	($how, $info) = TransferGuardCrash::crash($node, $how);
	$fig{$how}++;
	$fig{crashes}++;
	$fig{worker_caught_running}++ if $info->{running};
	push @{ $fig{pending_at_crash} }, $pending;
	push @{ $fig{open_at_crash} }, $open;

	my $ended = TransferGuardCrash::finish_clients($runs, \%fig);
	eval { $holder->finish; 1 } or $holder->kill_kill;
	my @acks = @{ $ended->{acks} };
	my $acked = 0;
	$acked += scalar(@$_) for @acks;
	$fig{acknowledged} += $acked;
	my $after = $node->safe_psql('bank', 'SELECT count(*) FROM transfer_guard_pending');
	push @{ $fig{pending_after_restart} }, $after;

	my $tag = "round $round ($how, " . ($locked ? "hot row $locked locked, " : '')
	  . "$acked acknowledged, $pending pending and $open transactions open at the crash)";
	check($ended->{unexpected} == 0 && $ended->{bad_exit} == 0,
		"$tag: clients saw no unexpected error")
	  or diag("client output: @{ $ended->{unexpected_lines} }; exit codes not 0 or 2: $ended->{bad_exit}");

	check_balances($tag, 0);

	my $cmp = TransferGuardCrash::compare_acks($node, \@acks);
	$fig{lost} += $cmp->{lost};
	check($cmp->{altered} == 0,
		"$tag: every acknowledged transfer found in acked_log has its accounts and amount")
	  or diag("$cmp->{altered} altered");
	check($cmp->{lost} == 0, "$tag: every acknowledged transfer is in acked_log")
	  or diag("$cmp->{lost} of $acked acknowledged transfers missing");
	my $unacked = $cmp->{rows} - $rows_before - $cmp->{present};
	$fig{unacknowledged_committed} += $unacked;
	check($unacked >= 0 && $unacked <= $CLIENTS,
		"$tag: at most one committed but unacknowledged transfer per client")
	  or diag("$unacked new rows were never acknowledged");
	$rows_before = $cmp->{rows};

	# ids are not handed out again; the probe credits a hot row
	my $max_id = $node->safe_psql('bank', 'SELECT coalesce(max(transfer_id), 0) FROM transfer_guard_journal');
	my $plain_list = join(', ', @PLAIN);
	my $next = $node->safe_psql('bank', qq{
BEGIN;
SELECT transfer_id FROM transfer('accounts',
	(SELECT id FROM accounts WHERE id IN ($plain_list) ORDER BY balance DESC, id LIMIT 1), $HOT[0], 0.01);
ROLLBACK;});
	check($next =~ /^\d+$/ && $next > $max_id,
		"$tag: the next transfer id is above every journaled id")
	  or diag("next id '$next', highest journaled $max_id");
	my $guard = $node->safe_psql('bank', q{
SELECT min_balance || '|' || coalesce(max_balance::text, 'none')
  FROM transfer_guards WHERE tbl = 'accounts'::regclass});
	my $marks = $node->safe_psql('bank',
		"SELECT string_agg(key, ',' ORDER BY key) FROM transfer_guard_hot_rows WHERE tbl = 'accounts'::regclass");
	check($guard eq "$FLOOR|none" && $marks eq join(',', @HOT),
		"$tag: the guard and the hot marks are still in place")
	  or diag("guard '$guard', hot rows '$marks'");
	check(worker_running(), "$tag: the worker is running again");
	push @victims, $info->{victim} if defined $info->{victim};
	check_log($tag, $offset, [ grep { defined } $info->{victim} ]);
	if ($how eq 'kill_worker')
	{
		# what the worker was doing, as the postmaster reports it
		my ($doing) = substr(TgTap::slurp_file($node->logfile), $offset)
		  =~ /Failed process was running: (.*)/;
		push @{ $fig{worker_doing} }, $doing // 'idle';
	}
}

check((grep { $_ > 0 } @{ $fig{pending_at_crash} }) > 0,
	'committed credits were pending at the moment of some crash')
  or diag("pending at each crash: @{ $fig{pending_at_crash} }");

# with no load, the worker settles everything left
my $settle_after_crash = wait_settled();
check(defined $settle_after_crash,
	"after the last restart, the worker settles every pending credit within $SETTLE_WITHIN s");
check_balances('after the last restart, settled', 1);

# the bounded pending check: credits to the hot rows only
my $id_before = $node->safe_psql('bank', 'SELECT coalesce(max(transfer_id), 0) FROM transfer_guard_journal');
my $offset = -s $node->logfile;
my $runs = TransferGuardCrash::start_clients($node, $dir, 'load', $CLIENTS, 30000,
	pick => \&pick_credits, stop_every => 20);
my ($samples, $max_pending, $max_age, $sum_pending) = (0, 0, 0, 0);
my $t0 = Time::HiRes::time();
while (Time::HiRes::time() - $t0 < $LOAD_SECONDS)
{
	my ($n, $age) = split /\|/, $node->safe_psql('bank', q{
SELECT count(*), coalesce(round(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000), 0)
  FROM transfer_guard_pending});
	$samples++;
	$sum_pending += $n;
	$max_pending = $n if $n > $max_pending;
	$max_age = $age if $age > $max_age;
	usleep(100_000);
}
my $still_running = grep { $_->{h}->pumpable } @$runs;
$node->safe_psql('bank', 'INSERT INTO tg_stop DEFAULT VALUES');
my $ended = TransferGuardCrash::finish_clients($runs, \%fig);
my $load_seconds = Time::HiRes::time() - $t0;
my ($load_transfers, $load_credits) = split /\|/, $node->safe_psql('bank', qq{
SELECT count(*), count(*) FILTER (WHERE to_key IN ($hot_list) AND to_balance IS NULL)
  FROM transfer_guard_journal WHERE transfer_id > $id_before});
my @load_acks = @{ $ended->{acks} };
my $load_acked = 0;
$load_acked += scalar(@$_) for @load_acks;
$fig{acknowledged} += $load_acked;
check($ended->{unexpected} == 0 && $ended->{bad_exit} == 0,
	'the credit load: clients saw no unexpected error')
  or diag("client output: @{ $ended->{unexpected_lines} }; exit codes not 0 or 2: $ended->{bad_exit}");
check($still_running == $CLIENTS, 'the credit load ran through the sampling')
  or diag("$still_running of $CLIENTS clients were still running at its end");
my $cmp = TransferGuardCrash::compare_acks($node, \@load_acks);
check($cmp->{lost} == 0 && $cmp->{altered} == 0 && $cmp->{rows} - $rows_before == $load_acked,
	'the credit load: acked_log holds exactly the acknowledged transfers')
  or diag("lost $cmp->{lost}, altered $cmp->{altered}, rows $cmp->{rows} - $rows_before, acknowledged $load_acked");
# bounded: at most a quarter of the credits made, and at most 2000, where
# without the worker every credit would still be pending
my $bound = $load_credits / 4 < 2000 ? int($load_credits / 4) : 2000;
check($load_credits >= 400 && $max_pending <= $bound,
	"the worker keeps transfer_guard_pending bounded under a credit load "
	  . "(at most $max_pending rows of $load_credits credits in ${LOAD_SECONDS} s, bound $bound)")
  or diag("$load_credits credits to the hot rows, at most $max_pending pending");
my $settle_after_load = wait_settled();
check(defined $settle_after_load,
	"after the credit load, the worker settles every pending credit within $SETTLE_WITHIN s");
check_balances('after the credit load, settled', 1);
check(worker_running(), 'the worker is still running');
check_log('the credit load', $offset, []);
my $last_settle = $node->safe_psql('bank',
	'SELECT count(*) FROM transfer_guard_hot_rows WHERE last_settle IS NOT NULL');
check($last_settle == @HOT, 'every hot row was settled (last_settle)');

my ($hot_credits, $hot_debits, $journaled) = split /\|/, $node->safe_psql('bank', qq{
SELECT count(*) FILTER (WHERE to_key IN ($hot_list) AND to_balance IS NULL),
	   count(*) FILTER (WHERE from_key IN ($hot_list)),
	   count(*)
  FROM transfer_guard_journal});

$node->stop;
check_log('the whole run', $log_start, \@victims);

diag(sprintf(
	'hot rows: %d crashes survived (%d all processes killed, %d one backend killed, '
	  . '%d the worker killed, %d of them while it ran), %d transfers acknowledged, '
	  . '%d lost, %d committed but unacknowledged, %d refused, %d committed in all '
	  . '(%d deferred credits to hot rows, %d debits of hot rows); %d checks passed',
	@fig{qw(crashes kill_all kill_backend kill_worker worker_caught_running acknowledged
	  lost unacknowledged_committed refused)},
	$journaled, $hot_credits, $hot_debits, $fig{checks}));
diag(sprintf('pending credits at each crash: %s; transactions open: %s; pending right after each restart: %s',
	map { join(' ', @{ $fig{$_} }) } qw(pending_at_crash open_at_crash pending_after_restart)));
diag('the worker, when killed, was running: '
	  . join('; ', map { "\"$_\"" } @{ $fig{worker_doing} })) if @{ $fig{worker_doing} };
diag(sprintf('the worker settled everything %.2f s after the last restart, %.2f s after the credit load',
	$settle_after_crash // -1, $settle_after_load // -1));
diag(sprintf('credit load: %d transfers (%d credits to hot rows) in %.1f s; transfer_guard_pending '
	  . 'at most %d rows (mean %.0f over %d samples), oldest pending credit at most %d ms',
	$load_transfers, $load_credits, $load_seconds, $max_pending,
	$samples ? $sum_pending / $samples : 0, $samples, $max_age));

done_testing();


# ok() that also counts the checks that passed
sub check
{
	my ($pass, $name) = @_;
	return TransferGuardCrash::check(\%fig, $pass, $name);
}

# Is the worker of database bank running?  Waits up to $SETTLE_WITHIN s for
# it: after a crash, the postmaster starts it once recovery is done.
sub worker_running
{
	for (1 .. $SETTLE_WITHIN * 20)
	{
		return 1 if $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_stat_activity
 WHERE backend_type = 'transfer_guard worker' AND datname = 'bank'}) == 1;
		usleep(50_000);
	}
	return 0;
}

# Wait for transfer_guard_pending to be empty; the seconds it took, or undef
# after $SETTLE_WITHIN s
sub wait_settled
{
	my $t0 = Time::HiRes::time();
	while (Time::HiRes::time() - $t0 < $SETTLE_WITHIN)
	{
		return Time::HiRes::time() - $t0
		  if $node->safe_psql('bank', 'SELECT count(*) FROM transfer_guard_pending') == 0;
		usleep(20_000);
	}
	return undef;
}

# A transaction left open: with $locked, first a debit of that hot row
# (which settles it, locks it until the end of the transaction, and so keeps
# the worker from settling it), then credits to both hot rows, uncommitted,
# then a long sleep; the crash ends it.  Returns once it sleeps.
sub start_holder
{
	my ($round, $locked) = @_;
	my $sql = "\\set ON_ERROR_STOP on\nBEGIN;\n"
	  . ($locked ? "SELECT transfer_id FROM transfer('accounts', $locked, $IDLE, 0.01);\n" : '')
	  . join('', map { "SELECT transfer_id FROM transfer('accounts', $IDLE, $_, 5);\n" } @HOT)
	  . "SELECT pg_sleep(600);\n";
	my $path = "$dir/round$round.holder.sql";
	open my $fh, '>', $path or die "$path: $!";
	print $fh $sql;
	close $fh;
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-d',
		  $node->connstr('bank') . ' application_name=tg_crash_holder', '-f', $path ],
		'<', \undef, '>', "$path.out", '2>', "$path.err",
		IPC::Run::timeout($TgTap::timeout_default));
	for (1 .. 100)
	{
		return $h if $node->safe_psql('bank', q{
SELECT count(*) FROM pg_stat_activity
 WHERE application_name = 'tg_crash_holder' AND query LIKE '%pg_sleep%' AND state = 'active'}) == 1;
		usleep(25_000);
	}
	die "the open transaction did not reach its pg_sleep(): "
	  . TgTap::slurp_file("$path.err");
}

# The balances: the invariants, and each against acked_log.  With settled,
# also that nothing is pending and every column plus its slots equals its
# exact balance.
sub check_balances
{
	my ($tag, $settled) = @_;
	my $settled_sql = $settled ? 'true' : 'false';

	# one statement, so one snapshot, even while the worker settles
	my $inv = $node->safe_psql('bank', qq{
WITH p AS (SELECT coalesce(sum(amount), 0) AS amount, count(*) AS n
			 FROM transfer_guard_pending WHERE tbl = 'accounts'::regclass),
	 s AS (SELECT coalesce(sum(amount), 0) AS amount, count(*) FILTER (WHERE amount < 0) AS negative
			 FROM transfer_guard_slots WHERE tbl = 'accounts'::regclass)
SELECT count(*), sum(balance) + p.amount + s.amount, sum(current_balance('accounts', id::text)),
	   count(*) FILTER (WHERE balance IS NULL),
	   count(*) FILTER (WHERE balance < $FLOOR),
	   count(*) FILTER (WHERE current_balance('accounts', id::text) < $FLOOR),
	   p.n, s.negative
  FROM accounts, p, s GROUP BY p.amount, p.n, s.amount, s.negative});
	my @f = split /\|/, $inv;
	check(@f == 8 && $f[0] == $ACCOUNTS && $f[1] == $TOTAL && $f[2] == $TOTAL
		  && $f[3] == 0 && $f[4] == 0 && $f[5] == 0 && (!$settled || $f[6] == 0) && $f[7] == 0,
		"$tag: $ACCOUNTS accounts; column + pending + slots and current_balance() both total $TOTAL; "
		  . "no NULL column, none below $FLOOR, no slot below 0" . ($settled ? '; nothing pending' : ''))
	  or diag("count|column+pending+slots|current_balance|nulls|columns below|exact below|pending|negative slots = $inv");

	my $mismatch = $node->safe_psql('bank', qq{
WITH p AS (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
			WHERE tbl = 'accounts'::regclass GROUP BY key),
	 j AS (SELECT id, sum(delta) AS delta
			 FROM (SELECT from_id AS id, -amount AS delta FROM acked_log
				   UNION ALL
				   SELECT to_id, amount FROM acked_log) moves
			GROUP BY id),
	 s AS (SELECT key, sum(amount) AS amount FROM transfer_guard_slots
			WHERE tbl = 'accounts'::regclass GROUP BY key),
	 b AS (SELECT a.id, a.balance, coalesce(p.amount, 0) AS pending,
				  coalesce(s.amount, 0) AS slots,
				  current_balance('accounts', a.id::text) AS exact,
				  $START + coalesce(j.delta, 0) AS logged
			 FROM accounts a
			 LEFT JOIN p ON p.key = a.id::text
			 LEFT JOIN s ON s.key = a.id::text
			 LEFT JOIN j USING (id))
SELECT coalesce(string_agg(format('%s: column %s + pending %s + slots %s, current_balance %s, log says %s',
								  id, balance, pending, slots, exact, logged), '; ' ORDER BY id), '')
  FROM b
 WHERE balance + pending + slots IS DISTINCT FROM logged OR exact IS DISTINCT FROM logged
	OR ($settled_sql AND balance + slots IS DISTINCT FROM exact)});
	check($mismatch eq '',
		"$tag: every account's column + pending + slots and current_balance() equal its start "
		  . "plus the credits minus the debits in acked_log"
		  . ($settled ? ', and its column + slots its exact balance' : ''))
	  or diag("accounts that disagree: $mismatch");

	my $journal = $node->safe_psql('bank', q{
WITH j AS (SELECT transfer_id, from_key::int AS from_id, to_key::int AS to_id, amount
		   FROM transfer_guard_journal WHERE from_table = 'accounts'::regclass),
	 l AS (SELECT transfer_id, from_id, to_id, amount::numeric FROM acked_log)
SELECT (SELECT count(*) FROM (TABLE j EXCEPT TABLE l) x) || ' ' || (SELECT count(*) FROM (TABLE l EXCEPT TABLE j) y)});
	check($journal eq '0 0', "$tag: the journal holds exactly the transfers in acked_log")
	  or diag("journal rows not in acked_log, acked_log rows not in the journal: $journal");

	my $pending = $node->safe_psql('bank', qq{
SELECT count(*) FILTER (WHERE j.transfer_id IS NULL OR j.to_table <> p.tbl OR j.to_key <> p.key
						   OR j.amount <> p.amount OR j.to_balance IS NOT NULL),
	   count(*) FILTER (WHERE p.key NOT IN ($hot_list)),
	   count(*) - count(DISTINCT p.transfer_id)
  FROM transfer_guard_pending p LEFT JOIN transfer_guard_journal j USING (transfer_id)});
	check($pending eq '0|0|0',
		"$tag: every pending credit is a deferred credit of the journal, once, to a hot row")
	  or diag("not matching the journal|not to a hot row|twice = $pending");
	return;
}

# The server log from $offset: no PANIC or failed assertion, no process
# ended by a signal but those killed (each once, by SIGKILL), no process
# ended with an error status, nothing logged by the worker or another
# process above LOG but the notice of a crash, and no error of a client but
# refusals.  Once the server is asked to shut down, a background worker's
# end with FATAL 57P01 and exit code 1 is its normal end.
sub check_log
{
	my ($tag, $offset, $victims) = @_;
	my $log = substr(TgTap::slurp_file($node->logfile), $offset);
	my %killed = map { $_ => 0 } @$victims;
	my @bad;
	my $stopping = 0;

	for my $line (split /\n/, $log)
	{
		if ($line =~ /received (?:smart|fast|immediate) shutdown request/)
		{
			$stopping = 1;
		}
		elsif ($line =~ /TRAP:|PANIC:/)
		{
			push @bad, $line;
		}
		elsif ($line =~ /\(PID (\d+)\) was terminated by signal (\d+)/)
		{
			if ($2 == 9 && exists $killed{$1}) { $killed{$1}++; }
			else { push @bad, $line; }
		}
		elsif ($line =~ /exited with exit code [1-9]/)
		{
			push @bad, $line
			  unless $stopping && $line =~ /background worker "[^"]+" \(PID \d+\) exited with exit code 1/;
		}
		elsif ($line =~ /\[(\d+)\] \[([^\]]*)\] (\S*) (?:.* )?(WARNING|ERROR|FATAL):  /)
		{
			my ($type, $state, $level) = ($2, $3, $4);
			next if $state eq '57P02';	# the notice of another process's crash
			next if $type eq 'client backend' && $level eq 'ERROR' && $state eq '23514';
			next if $stopping && $level eq 'FATAL' && $state eq '57P01';
			push @bad, $line;
		}
	}
	my @missing = grep { $killed{$_} != 1 } @$victims;
	check(@bad == 0 && @missing == 0,
		"$tag: the server log shows no error but refusals, no unexpected end of a process")
	  or diag("processes killed but not logged once as such: @missing; unexpected lines:\n"
		  . join("\n", @bad[ 0 .. ($#bad < 19 ? $#bad : 19) ]));
	return;
}
