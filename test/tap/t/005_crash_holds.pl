
# test/tap/t/005_crash_holds.pl
#
# Claim: holds survive crashes.  With the maintenance worker releasing the
# holds past their expiry every 100 ms and synchronous_commit = on, the
# server is crashed while clients place holds (between random accounts, one
# of them hot; most expiring after 0.3 to 4 s, the others never), capture
# them (in full or in part) and release them, each step one transaction with
# the caller's own record of it (hold_log, step_log) written in it; while
# holds are open, some of them past their expiry, and while a transaction is
# open that has placed a hold and captured part of another, uncommitted.
# After every restart:
#   - every hold, capture and release whose COMMIT was acknowledged is
#     there, as acknowledged, and at most one step per client committed
#     without its acknowledgement; the caller's records and the holds'
#     records agree exactly (the holds are those of hold_log; the captured
#     ones those of step_log, with its transfer ids and amounts; the
#     released ones those step_log says were released; the expired ones
#     those step_log says release() found expired, and the worker's);
#   - the balances (current_balance(), and the column plus the pending
#     credits, in one snapshot) plus what the open holds hold add up to the
#     starting total, none below the floor, and every balance equals its
#     start plus the journal's credits minus its debits;
#   - every hold's state agrees with the journal (held: no row ends it;
#     captured: its capture row and the release row of the rest; released
#     or expired: one row of its whole amount back to its source), and
#     what the hold rows took minus what the rows that end holds gave is
#     what the open holds hold; every pending credit is a deferred credit of
#     the journal to the hot row;
#   - the worker, running again, releases (as expired) every hold that
#     expired while the server was down or that was past its expiry and
#     still held at the crash, within a few seconds; how long after their
#     expires_at, and after the restart, is measured;
#   - transfer ids are not handed out twice, and the server log has no
#     error of the worker, no PANIC, no unexpected end of a process, and no
#     error of a client but those a step on a hold may meet (a hold captured,
#     released or expired already, a floor).
# The crashes take three ways in turn: every server process killed at once
# (SIGKILL), one client's backend killed, or the worker itself killed (when
# caught running, so while it looks for or releases expired holds); the
# last two leave it to the postmaster to reset every process.
#
# Then, with no load, the worker must release every hold past its expiry,
# and releasing every open hold must bring the balances back to the
# starting total exactly.
#
# TG_CRASHES sets the number of crashes (default 6).  See
# test/tap/lib/TransferGuardCrash.pm for the crashes.
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
my $HOT = 1;				# a hot row: credits to it are pending credits
my @USED = (1 .. 8);		# the rows the clients use
my $IDLE = 9;				# used only by the transaction left open
my $START = 10000;
my $TOTAL = $ACCOUNTS * $START;
my $FLOOR = 0;
my $INTERVAL_MS = 100;		# transfer_guard.settle_interval
my $CLIENTS = 4;
my $STEPS = 3000;			# steps per client script (the crash ends it)
my $RELEASE_WITHIN = 10;	# seconds the worker has to release the expired holds
my @WAYS = qw(kill_all kill_backend kill_worker);
my $crashes = $ENV{TG_CRASHES} || 6;

# SQLSTATEs a client may see because the server went away under it (the
# empty one: libpq's own report of a lost connection), and those a step on
# a hold may meet: its hold captured (TG002), released (TG003) or expired
# (TG004) by another first, or a floor
my %CRASH_STATES = map { $_ => 1 } ('', qw(57P01 57P02 57P03 08000 08003 08006));
my %STEP_STATES = map { $_ => 1 } qw(TG002 TG003 TG004 23514);

my %fig = (crashes => 0, kill_all => 0, kill_backend => 0, kill_worker => 0,
	worker_caught_running => 0, checks => 0, holds => 0, captures => 0,
	releases => 0, released_expired => 0, lost => 0, unacknowledged_committed => 0,
	refused => {}, open_at_crash => [], past_expiry_at_crash => [],
	expired_meanwhile => [], lag_after_expiry => [], lag_after_restart => []);

sub one_of { return $_[ int(rand(@_)) ]; }

my $node = TgTap::new_node('holds');
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
$node->safe_psql('bank', qq{
CREATE EXTENSION transfer_guard;
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(14,2));
INSERT INTO accounts SELECT g, $START FROM generate_series(1, $ACCOUNTS) g;
SELECT guard('accounts', 'balance', $FLOOR, journal => true);
SELECT set_hot('accounts', '$HOT');
CREATE TABLE hold_log (
	hold_id bigint PRIMARY KEY,
	from_id int NOT NULL,
	to_id int NOT NULL,
	amount numeric(14,2) NOT NULL
);
-- one step ends a hold: captured (with the capture's transfer id and the
-- amount captured), released, or expired (a release() that found it past
-- its expiry)
CREATE TABLE step_log (
	hold_id bigint PRIMARY KEY,
	state text NOT NULL,
	transfer_id bigint,
	captured numeric(14,2)
);
-- release() of a hold, logged with the state it left the hold in
CREATE FUNCTION release_logged(h bigint) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	st text;
BEGIN
	PERFORM release(h);
	SELECT state INTO STRICT st FROM transfer_guard_hold WHERE hold_id = h;
	INSERT INTO step_log VALUES (h, st, NULL, NULL);
	RETURN st;
END \$\$;
});
# the worker's database exists now: name it, and restart for it
$node->append_conf('postgresql.conf', "transfer_guard.settle_databases = 'bank'\n");
$node->restart;
my $log_start = -s $node->logfile;

check(worker_running(), 'the worker of database bank is running (pg_stat_activity)');

my $dir = TgTap::tempdir('holds_clients');
my %acked_holds;		# hold id -> "from to amount", acknowledged
my %acked_steps;		# hold id -> "state transfer_id captured", acknowledged
my ($log_rows_before) = (0);
my @victims;

for my $round (1 .. $crashes)
{
	my $how = $WAYS[ ($round - 1) % @WAYS ];
	my $offset = -s $node->logfile;
	my @runs = map { start_client("round$round.client$_") } 1 .. $CLIENTS;

	# let the clients work, open the transaction left open, crash a moment
	# later
	usleep(int(600_000 + rand(900_000)));
	my $holder = start_holder($round);
	usleep(int(rand(300_000)));
	my ($open, $past, $in_flight) = split /\|/, $node->safe_psql('bank', q{
SELECT count(*) FILTER (WHERE state = 'held'),
	   count(*) FILTER (WHERE state = 'held' AND expires_at <= clock_timestamp()),
	   (SELECT count(*) FROM pg_stat_activity
		 WHERE application_name IN ('tg_crash_client', 'tg_crash_holder')
		   AND xact_start IS NOT NULL)
  FROM transfer_guard_hold});
	my $info;
	($how, $info) = TransferGuardCrash::crash($node, $how);
	my $ready = ready_at($offset);
	$fig{$how}++;
	$fig{crashes}++;
	$fig{worker_caught_running}++ if $info->{running};
	push @{ $fig{open_at_crash} }, $open;
	push @{ $fig{past_expiry_at_crash} }, $past;

	my $ended = finish_clients(\@runs);
	eval { $holder->finish; 1 } or $holder->kill_kill;
	my $tag = "round $round ($how, $ended->{acks} acknowledged, $open holds open "
	  . "($past past their expiry) and $in_flight transactions open at the crash)";
	check($ended->{unexpected} == 0 && $ended->{bad_exit} == 0,
		"$tag: clients saw no unexpected error")
	  or diag("client output: @{ $ended->{unexpected_lines} }; exit codes not 0 or 2: $ended->{bad_exit}");

	# what was acknowledged against the caller's records
	my $cmp = compare_acks();
	$fig{lost} += $cmp->{lost};
	check($cmp->{lost} == 0 && $cmp->{altered} == 0,
		"$tag: every acknowledged hold, capture and release is in the caller's records, as acknowledged")
	  or diag("$cmp->{lost} lost, $cmp->{altered} altered: @{ $cmp->{sample} }");
	my $unacked = $cmp->{rows} - $log_rows_before - $ended->{acks};
	$fig{unacknowledged_committed} += $unacked;
	check($unacked >= 0 && $unacked <= $CLIENTS,
		"$tag: at most one committed but unacknowledged step per client")
	  or diag("$unacked new rows in hold_log and step_log were never acknowledged");
	$log_rows_before = $cmp->{rows};

	check_state("$tag, right after the restart");

	# the holds that expired while the server was down, or were past their
	# expiry and still held at the crash: the worker releases them (after
	# the restart, no client is left, so whatever closes a hold is the
	# worker)
	my $expired_meanwhile = $node->safe_psql('bank', qq{
SELECT count(*) FROM transfer_guard_hold
 WHERE expires_at <= '$ready' AND (state = 'held' OR closed_at >= '$ready')});
	push @{ $fig{expired_meanwhile} }, $expired_meanwhile;
	my $released = wait_released($ready);
	check(defined $released,
		"$tag: the worker releases the $expired_meanwhile holds that expired meanwhile within $RELEASE_WITHIN s")
	  or diag($node->safe_psql('bank', qq{
SELECT string_agg(format('%s expires_at %s', hold_id, expires_at), '; ')
  FROM transfer_guard_hold WHERE state = 'held' AND expires_at <= '$ready'}));
	my ($n, $by_worker, $lag_expiry, $lag_restart) = split /\|/, $node->safe_psql('bank', qq{
SELECT count(*), count(*) FILTER (WHERE h.state = 'expired' AND s.hold_id IS NULL),
	   coalesce(round(extract(epoch FROM max(h.closed_at - h.expires_at)) * 1000), 0),
	   coalesce(round(extract(epoch FROM max(h.closed_at - '$ready'::timestamptz)) * 1000), 0)
  FROM transfer_guard_hold h LEFT JOIN step_log s USING (hold_id)
 WHERE h.expires_at <= '$ready' AND h.closed_at >= '$ready'});
	check($n == $expired_meanwhile && $by_worker == $n,
		"$tag: each of them was released as expired by the worker (none of them in step_log)")
	  or diag("$n closed since the crash, $by_worker expired and not in step_log, of $expired_meanwhile");
	push @{ $fig{lag_after_expiry} }, $lag_expiry;
	push @{ $fig{lag_after_restart} }, $lag_restart;
	check_state("$tag, after the worker released them");

	# ids are not handed out again
	my $max_id = $node->safe_psql('bank', 'SELECT coalesce(max(transfer_id), 0) FROM transfer_guard_journal');
	my $next = $node->safe_psql('bank', qq{
BEGIN;
SELECT hold_id FROM hold('accounts', 2, 3, 0.01);
ROLLBACK;});
	check($next =~ /^\d+$/ && $next > $max_id,
		"$tag: the next hold id is above every journaled id")
	  or diag("next id '$next', highest journaled $max_id");
	check(worker_running(), "$tag: the worker is running again");
	push @victims, $info->{victim} if defined $info->{victim};
	check_log($tag, $offset, [ grep { defined } $info->{victim} ]);
}

check((grep { $_ > 0 } @{ $fig{expired_meanwhile} }) > 0,
	'holds expired while the server was down in some round')
  or diag("expired meanwhile, each round: @{ $fig{expired_meanwhile} }");

# with no load, the worker releases every hold past its expiry
my $now = $node->safe_psql('bank', 'SELECT clock_timestamp()');
my $all_released = wait_released($now);
check(defined $all_released, "with no load, the worker releases every hold past its expiry within $RELEASE_WITHIN s")
  or diag($node->safe_psql('bank', "SELECT count(*) FROM transfer_guard_hold WHERE state = 'held' AND expires_at <= '$now'"));
check_state('after the last restart, with no load');

# the worker's expiries under load: how long after expires_at
my ($worker_expired, $lag_median, $lag_max) = split /\|/, $node->safe_psql('bank', q{
SELECT count(*),
	   coalesce(round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY h.closed_at - h.expires_at)) * 1000), 0),
	   coalesce(round(extract(epoch FROM max(h.closed_at - h.expires_at)) * 1000), 0)
  FROM transfer_guard_hold h LEFT JOIN step_log s USING (hold_id)
 WHERE h.state = 'expired' AND s.hold_id IS NULL});

# every open hold back to its source (logged as a client's release): every
# record locked before the first release, so that the worker, which skips
# a locked hold, neither expires one under the sweep nor holds one the
# sweep waits for while it waits for a row the sweep has locked; the
# balances make the total again
my $open_left = $node->safe_psql('bank', q{
SELECT count(release_logged(h))
  FROM unnest((SELECT array_agg(hold_id ORDER BY hold_id)
				 FROM (SELECT hold_id FROM transfer_guard_hold WHERE state = 'held'
						FOR UPDATE) l)) h});
my $sums = $node->safe_psql('bank', q{
SELECT sum(current_balance('accounts', id::text)) || '|'
	   || (SELECT count(*) FROM transfer_guard_hold WHERE state = 'held')
  FROM accounts});
check($sums eq "$TOTAL.00|0",
	"releasing the $open_left holds left open brings current_balance() back to the total $TOTAL")
  or diag("sum of current_balance()|holds held = $sums");
check_state('after releasing every hold');

my ($journal_holds, $journal_captures, $journal_releases, $journal_expires) = split /\|/, $node->safe_psql('bank', q{
SELECT count(*) FILTER (WHERE kind = 'hold'), count(*) FILTER (WHERE kind = 'capture'),
	   count(*) FILTER (WHERE kind = 'release'), count(*) FILTER (WHERE kind = 'expire')
  FROM transfer_guard_journal});
$node->stop;
check_log('the whole run', $log_start, \@victims);

diag(sprintf(
	'holds: %d crashes survived (%d all processes killed, %d one backend killed, %d the worker killed, '
	  . '%d of them while it ran); acknowledged: %d holds, %d captures, %d releases (%d of them found '
	  . 'the hold expired); %d lost, %d committed but unacknowledged; refused: %s; %d checks passed',
	@fig{qw(crashes kill_all kill_backend kill_worker worker_caught_running holds captures releases
	  released_expired lost unacknowledged_committed)},
	join(', ', map { "$_ $fig{refused}{$_}" } sort keys %{ $fig{refused} }) || 'none',
	$fig{checks}));
diag(sprintf('journal: %d holds, %d captures, %d releases (with the rests of partial captures), %d expiries',
	$journal_holds, $journal_captures, $journal_releases, $journal_expires));
diag(sprintf('at each crash: holds open %s; of them past their expiry %s; expired meanwhile (released by '
	  . 'the worker after the restart) %s', map { join(' ', @{ $fig{$_} }) }
	  qw(open_at_crash past_expiry_at_crash expired_meanwhile)));
diag(sprintf('those released at most %s ms after their expires_at and %s ms after the restart, by round',
	map { join(' ', @{ $fig{$_} }) } qw(lag_after_expiry lag_after_restart)));
diag(sprintf('the worker expired %d holds in all (none in step_log), %d ms after expires_at at the median, '
	  . '%d ms at most (crashes included); with no load it released the last ones in %.2f s',
	$worker_expired, $lag_median, $lag_max, $all_released // -1));

done_testing();


# ok() that also counts the checks that passed
sub check
{
	my ($pass, $name) = @_;
	return TransferGuardCrash::check(\%fig, $pass, $name);
}

# Is the worker of database bank running?  Waits up to $RELEASE_WITHIN s
# for it: after a crash, the postmaster starts it once recovery is done.
sub worker_running
{
	for (1 .. $RELEASE_WITHIN * 20)
	{
		return 1 if $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_stat_activity
 WHERE backend_type = 'transfer_guard worker' AND datname = 'bank'}) == 1;
		usleep(50_000);
	}
	return 0;
}

# The moment the server was ready again after the crash, as its log (from
# $offset) says: the last "ready to accept connections"
sub ready_at
{
	my ($offset) = @_;
	my @ready = substr(TgTap::slurp_file($node->logfile), $offset)
	  =~ /^(\S+ \S+ \S+) \[\d+\] .*database system is ready to accept connections/mg;
	die "no \"ready to accept connections\" in the log since the crash" unless @ready;
	return $ready[-1];
}

# Wait until no hold past its expiry at $when is held; the seconds it took,
# or undef after $RELEASE_WITHIN s
sub wait_released
{
	my ($when) = @_;
	my $t0 = Time::HiRes::time();
	while (Time::HiRes::time() - $t0 < $RELEASE_WITHIN)
	{
		return Time::HiRes::time() - $t0
		  if $node->safe_psql('bank', qq{
SELECT count(*) FROM transfer_guard_hold WHERE state = 'held' AND expires_at <= '$when'}) == 0;
		usleep(20_000);
	}
	return undef;
}

# The psql script of one step, each one transaction.  A line is printed
# only after COMMIT returned success:
#   HOLD id from to amount         a hold placed
#   CAPTURE id transfer_id amount  a hold captured (amount: what was captured)
#   RELEASE id state               a hold released (state: released, or
#                                  expired when it was past its expiry)
# A failure prints "FAIL sqlstate what" (after the ROLLBACK, unless the
# COMMIT itself failed); a step that finds no open hold prints nothing.
# When the connection is lost, psql ends at the failing statement or at the
# next one.
sub hold_step
{
	my ($src, $dst, $amount, $expires_in) = @_;
	my $exp = defined $expires_in ? "'$expires_in'" : 'NULL';
	return <<EOS;
BEGIN;
SELECT hold_id FROM hold('accounts', $src, $dst, $amount, expires_in => $exp) \\gset
\\if :ERROR
\\set state :SQLSTATE
ROLLBACK;
\\echo FAIL :state hold
\\else
INSERT INTO hold_log VALUES (:hold_id, $src, $dst, $amount);
\\if :ERROR
\\set state :SQLSTATE
ROLLBACK;
\\echo FAIL :state hold
\\else
COMMIT;
\\if :ERROR
\\echo FAIL :SQLSTATE hold
\\else
\\echo HOLD :hold_id $src $dst $amount
\\endif
\\endif
\\endif
EOS
}

# a step on one open hold, picked at random: $call is the SQL of the step
# (with :h the hold and :held its amount), $log the values it writes to
# step_log (undef: the step writes them itself), $ack what it prints
sub act_step
{
	my ($what, $call, $log, $ack) = @_;
	my $fail = "\\set state :SQLSTATE\nROLLBACK;\n\\echo FAIL :state $what\n";
	my $commit = "COMMIT;\n\\if :ERROR\n\\echo FAIL :SQLSTATE $what\n\\else\n\\echo $ack\n\\endif\n";
	if (defined $log)
	{
		$commit = "INSERT INTO step_log VALUES $log;\n\\if :ERROR\n$fail\\else\n$commit\\endif\n";
	}
	return <<EOS;
BEGIN;
SELECT count(*) AS have, min(hold_id) AS h, min(amount) AS held
  FROM (SELECT hold_id, amount FROM transfer_guard_hold WHERE state = 'held'
		 ORDER BY random() LIMIT 1) o \\gset
\\if :have
$call
\\if :ERROR
$fail\\else
$commit\\endif
\\else
ROLLBACK;
\\endif
EOS
}

# A client's script: $STEPS steps, 1 in 2 a hold between two of the rows in
# use (the hot row among them), of 1.00 to 400.00, expiring after 0.3 to 4 s
# (3 in 5) or never; 3 in 10 a capture (of all of the hold, or of part of
# it); 1 in 5 a release.
sub write_script
{
	my ($path) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh "\\set VERBOSITY terse\n";
	for (1 .. $STEPS)
	{
		my $r = rand();
		if ($r < 0.5)
		{
			my $src = one_of(@USED);
			my $dst = $USED[ ($src - $USED[0] + 1 + int(rand(@USED - 1))) % @USED ];
			my $amount = sprintf('%.2f', (100 + int(rand(39901))) / 100);
			my $exp = rand() < 0.6 ? sprintf('%.3f s', 0.3 + rand(3.7)) : undef;
			print $fh hold_step($src, $dst, $amount, $exp);
		}
		elsif ($r < 0.8)
		{
			my $part = rand() < 0.5 ? undef : sprintf('%.2f', 0.1 + rand(0.8));
			my $amount = defined $part ? "round(:held * $part, 2)" : ':held';
			print $fh act_step('capture',
				'SELECT transfer_id, ' . $amount . ' AS captured FROM capture(:h'
				  . (defined $part ? ", $amount" : '') . ') \\gset',
				"(:h, 'captured', :transfer_id, :captured)",
				'CAPTURE :h :transfer_id :captured');
		}
		else
		{
			print $fh act_step('release', 'SELECT release_logged(:h) AS st \\gset', undef,
				'RELEASE :h :st');
		}
	}
	close $fh;
	return;
}

# Start one client (application_name tg_crash_client, which crash() picks
# its victims by) running a script of its own.
sub start_client
{
	my ($label) = @_;
	my $path = "$dir/$label.sql";
	write_script($path);
	my $out = "$path.out";
	return {
		out => $out,
		h => IPC::Run::start(
			[ 'psql', '-X', '-q', '-A', '-t', '-d',
			  $node->connstr('bank') . ' application_name=tg_crash_client', '-f', $path ],
			'<', \undef, '>', $out, '2>', "$path.err",
			IPC::Run::timeout($TgTap::timeout_default)),
	};
}

# Wait for the clients to end (with their connection lost, or at their
# script's end) and read what each printed: the acknowledgements go to
# %acked_holds and %acked_steps, the refusals to $fig{refused}.  Anything
# else is unexpected, but for the tail a lost connection leaves (a failure
# with a crash's SQLSTATE, or a result psql printed instead of \gset-ting
# it as the connection went), after which nothing may come but such lines,
# and only from a psql that ended for the lost connection (status 2).
# Returns a hash: acks (this round's), unexpected, unexpected_lines,
# bad_exit (clients whose psql ended with a status other than 0 or 2).
sub finish_clients
{
	my ($runs) = @_;
	my ($acks, $unexpected, $bad_exit) = (0, 0, 0);
	my @unexpected_lines;

	for my $r (@$runs)
	{
		eval { $r->{h}->finish; 1 } or do { $r->{h}->kill_kill; };
		my $code = $r->{h}->result(0) // -1;
		$bad_exit++ unless $code == 0 || $code == 2;
		my $tail = 0;			# the connection was lost: nothing may follow but its traces
		open my $fh, '<', $r->{out} or die "$r->{out}: $!";
		while (my $line = <$fh>)
		{
			chomp $line;
			my $bad;
			if ($line =~ /^FAIL (\S*) (\w+)$/ && $CRASH_STATES{$1})
			{
				$tail = 1;
			}
			elsif ($tail)
			{
				$bad = "(after a lost connection) $line"
				  if $line !~ /^[\w|. -]*$/ || $line =~ /^(?:HOLD|CAPTURE|RELEASE) /;
			}
			elsif ($line =~ /^HOLD (\d+) (\d+) (\d+) (\S+)$/)
			{
				$acked_holds{$1} = "$2 $3 $4";
				$fig{holds}++;
				$acks++;
			}
			elsif ($line =~ /^CAPTURE (\d+) (\d+) (\S+)$/)
			{
				$acked_steps{$1} = "captured $2 $3";
				$fig{captures}++;
				$acks++;
			}
			elsif ($line =~ /^RELEASE (\d+) (released|expired)$/)
			{
				$acked_steps{$1} = "$2  ";
				$fig{releases}++;
				$fig{released_expired}++ if $2 eq 'expired';
				$acks++;
			}
			elsif ($line =~ /^FAIL (\S+) (\w+)$/ && $STEP_STATES{$1})
			{
				$fig{refused}{"$2 $1"}++;
			}
			elsif ($line =~ /^[\w|. -]*$/)
			{
				# a result printed as the connection was lost: the end
				$tail = 1;
			}
			else
			{
				$bad = $line;
			}
			if (defined $bad)
			{
				$unexpected++;
				push @unexpected_lines, $bad;
			}
		}
		close $fh;
		if ($tail && $code != 2)
		{
			$unexpected++;
			push @unexpected_lines, "(a client that did not lose its connection) a lost connection's traces in $r->{out}";
		}
	}
	return {
		acks => $acks,
		unexpected => $unexpected,
		unexpected_lines => \@unexpected_lines,
		bad_exit => $bad_exit,
	};
}

# Every acknowledgement so far against the caller's records: lost (not
# there), altered (there, but otherwise), a sample of both, and rows (the
# rows of hold_log and step_log).
sub compare_acks
{
	my (%holds, %steps);
	for my $row (split /\n/, $node->safe_psql('bank',
			'SELECT hold_id, from_id, to_id, amount FROM hold_log'))
	{
		my ($id, @rest) = split /\|/, $row;
		$holds{$id} = "@rest";
	}
	for my $row (split /\n/, $node->safe_psql('bank',
			'SELECT hold_id, state, transfer_id, captured FROM step_log'))
	{
		my ($id, @rest) = split /\|/, $row, -1;
		$steps{$id} = join(' ', @rest);
	}
	my ($lost, $altered) = (0, 0);
	my @sample;
	for my $pair ([ \%acked_holds, \%holds, 'hold' ], [ \%acked_steps, \%steps, 'step on hold' ])
	{
		my ($acked, $logged, $what) = @$pair;
		for my $id (sort keys %$acked)
		{
			if (!exists $logged->{$id})
			{
				$lost++;
				push @sample, "$what $id lost" if @sample < 10;
			}
			elsif ($logged->{$id} ne $acked->{$id})
			{
				$altered++;
				push @sample, "$what $id: acknowledged '$acked->{$id}', logged '$logged->{$id}'"
				  if @sample < 10;
			}
		}
	}
	return {
		lost => $lost,
		altered => $altered,
		sample => \@sample,
		rows => scalar(keys %holds) + scalar(keys %steps),
	};
}

# A transaction left open: a hold from the idle row, and a partial capture
# of an open hold that never expires, uncommitted, then a long sleep; the
# crash ends it.  It locks that hold's record first (SKIP LOCKED), so that
# no client ends the hold between choosing it and capturing it.  Returns
# once it sleeps.
sub start_holder
{
	my ($round) = @_;
	my $sql = "\\set ON_ERROR_STOP on\nBEGIN;\n"
	  . "SELECT hold_id FROM hold('accounts', $IDLE, $USED[1], 7.00, expires_in => '1 s');\n"
	  . "SELECT count(*) FROM (SELECT (capture(hold_id, 1.00)).transfer_id FROM (SELECT hold_id FROM transfer_guard_hold\n"
	  . "  WHERE state = 'held' AND expires_at IS NULL ORDER BY hold_id LIMIT 1 FOR UPDATE SKIP LOCKED) o) c;\n"
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
	for (1 .. 200)
	{
		return $h if $node->safe_psql('bank', q{
SELECT count(*) FROM pg_stat_activity
 WHERE application_name = 'tg_crash_holder' AND query LIKE '%pg_sleep%' AND state = 'active'}) == 1;
		usleep(25_000);
	}
	die "the open transaction did not reach its pg_sleep(): "
	  . TgTap::slurp_file("$path.err");
}

# The state after a restart, each part in one statement (one snapshot):
# the invariants; every balance against the journal; every hold's record
# against the journal and against the caller's records; the pending credits
# against the journal.
sub check_state
{
	my ($tag) = @_;

	my $inv = $node->safe_psql('bank', qq{
WITH p AS (SELECT coalesce(sum(amount), 0) AS amount FROM transfer_guard_pending
			WHERE tbl = 'accounts'::regclass),
	 h AS (SELECT coalesce(sum(amount), 0) AS amount FROM transfer_guard_hold
			WHERE from_table = 'accounts'::regclass AND state = 'held')
SELECT count(*), sum(balance) + p.amount + h.amount,
	   sum(current_balance('accounts', id::text)) + h.amount,
	   count(*) FILTER (WHERE balance IS NULL),
	   count(*) FILTER (WHERE balance < $FLOOR),
	   count(*) FILTER (WHERE current_balance('accounts', id::text) < $FLOOR)
  FROM accounts, p, h GROUP BY p.amount, h.amount});
	my @f = split /\|/, $inv;
	check(@f == 6 && $f[0] == $ACCOUNTS && $f[1] == $TOTAL && $f[2] == $TOTAL
		  && $f[3] == 0 && $f[4] == 0 && $f[5] == 0,
		"$tag: column + pending + open holds and current_balance() + open holds both total $TOTAL; "
		  . "no NULL column, none below $FLOOR")
	  or diag("count|column+pending+holds|current_balance+holds|nulls|columns below|exact below = $inv");

	my $mismatch = $node->safe_psql('bank', qq{
WITH p AS (SELECT key, sum(amount) AS amount FROM transfer_guard_pending
			WHERE tbl = 'accounts'::regclass GROUP BY key),
	 j AS (SELECT k, sum(delta) AS delta
			 FROM (SELECT to_key AS k, amount AS delta FROM transfer_guard_journal
					WHERE to_table = 'accounts'::regclass
				   UNION ALL
				   SELECT from_key, -amount FROM transfer_guard_journal
					WHERE from_table = 'accounts'::regclass) m
			GROUP BY k)
SELECT coalesce(string_agg(format('%s: column %s + pending %s, current_balance %s, journal says %s',
								  a.id, a.balance, coalesce(p.amount, 0),
								  current_balance('accounts', a.id::text),
								  $START + coalesce(j.delta, 0)), '; ' ORDER BY a.id), '')
  FROM accounts a
  LEFT JOIN p ON p.key = a.id::text
  LEFT JOIN j ON j.k = a.id::text
 WHERE a.balance + coalesce(p.amount, 0) IS DISTINCT FROM $START + coalesce(j.delta, 0)
	OR current_balance('accounts', a.id::text) IS DISTINCT FROM $START + coalesce(j.delta, 0)});
	check($mismatch eq '',
		"$tag: every balance (column + pending, current_balance()) equals its start plus the "
		  . "journal's credits minus its debits")
	  or diag("accounts that disagree: $mismatch");

	my $holds = $node->safe_psql('bank', q{
WITH c AS (
	SELECT h.hold_id, h.state, h.amount, h.captured, h.expires_at, h.closed_at,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'hold') AS nhold,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'hold' AND j.transfer_id = h.hold_id
										AND j.from_key = h.from_key AND j.to_table IS NULL
										AND j.amount = h.amount) AS good_hold,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'capture') AS ncapture,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'capture' AND j.from_table IS NULL
										AND j.to_key = h.to_key AND j.transfer_id = h.transfer_id
										AND j.amount = h.captured) AS good_capture,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'release') AS nrelease,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'release' AND j.from_table IS NULL
										AND j.to_key = h.from_key) AS good_release,
		   coalesce(sum(j.amount) FILTER (WHERE j.kind = 'release'), 0) AS released,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'expire') AS nexpire,
		   count(j.transfer_id) FILTER (WHERE j.kind = 'expire' AND j.from_table IS NULL
										AND j.to_key = h.from_key) AS good_expire,
		   coalesce(sum(j.amount) FILTER (WHERE j.kind = 'expire'), 0) AS expired
	  FROM transfer_guard_hold h
	  LEFT JOIN transfer_guard_journal j ON j.hold_id = h.hold_id
	 GROUP BY h.hold_id),
	 bad AS (
	SELECT * FROM c
	 WHERE NOT (c.nhold = 1 AND c.good_hold = 1 AND c.ncapture = c.good_capture
				AND c.nrelease = c.good_release AND c.nexpire = c.good_expire
				AND CASE c.state
					WHEN 'held' THEN c.ncapture + c.nrelease + c.nexpire = 0
					WHEN 'captured' THEN c.ncapture = 1 AND c.nexpire = 0
						AND c.nrelease = (c.captured < c.amount)::int AND c.released = c.amount - c.captured
					WHEN 'released' THEN c.ncapture = 0 AND c.nexpire = 0 AND c.nrelease = 1
						AND c.released = c.amount
					WHEN 'expired' THEN c.ncapture = 0 AND c.nrelease = 0 AND c.nexpire = 1
						AND c.expired = c.amount AND c.expires_at <= c.closed_at
					ELSE false END)),
	 sums AS (
	SELECT count(*) FILTER (WHERE h.hold_id IS NULL) AS orphans,
		   coalesce(sum(j.amount) FILTER (WHERE j.kind = 'hold'), 0)
			   - coalesce(sum(j.amount) FILTER (WHERE j.kind <> 'hold'), 0) AS open_journal
	  FROM transfer_guard_journal j LEFT JOIN transfer_guard_hold h USING (hold_id)
	 WHERE j.kind <> 'transfer')
SELECT (SELECT count(*) FROM bad) || '|' || sums.orphans || '|' || sums.open_journal || '|'
	   || (SELECT coalesce(sum(amount), 0) FROM transfer_guard_hold WHERE state = 'held') || '|'
	   || coalesce((SELECT string_agg(format('%s %s: %s hold, %s capture, %s release, %s expire rows',
										  hold_id, state, nhold, ncapture, nrelease, nexpire), '; ')
				   FROM (SELECT * FROM bad LIMIT 5) b), '')
  FROM sums});
	my ($nbad, $orphans, $open_journal, $open_holds, $sample) = split /\|/, $holds, 5;
	check($nbad == 0 && $orphans == 0 && $open_journal == $open_holds,
		"$tag: every hold's state agrees with the journal, and the journal's open holds "
		  . "($open_journal) are what the open holds hold")
	  or diag("holds that disagree: $nbad ($sample); journal rows without a hold: $orphans; "
		  . "open holds by the journal $open_journal, by their records $open_holds");

	my $logs = $node->safe_psql('bank', q{
WITH h AS (SELECT hold_id, from_key::int AS from_id, to_key::int AS to_id, amount
			 FROM transfer_guard_hold),
	 l AS (SELECT hold_id, from_id, to_id, amount::numeric FROM hold_log),
	 hs AS (SELECT hold_id, state, transfer_id, captured::numeric FROM transfer_guard_hold
			 WHERE state IN ('captured', 'released')),
	 ls AS (SELECT hold_id, state, transfer_id, captured::numeric FROM step_log
			 WHERE state IN ('captured', 'released'))
SELECT (SELECT count(*) FROM (TABLE h EXCEPT TABLE l) x) || '|'
	   || (SELECT count(*) FROM (TABLE l EXCEPT TABLE h) x) || '|'
	   || (SELECT count(*) FROM (TABLE hs EXCEPT TABLE ls) x) || '|'
	   || (SELECT count(*) FROM (TABLE ls EXCEPT TABLE hs) x) || '|'
	   || (SELECT count(*) FROM step_log s JOIN transfer_guard_hold x USING (hold_id)
			WHERE s.state = 'expired' AND x.state <> 'expired')});
	check($logs eq '0|0|0|0|0',
		"$tag: the holds are those of hold_log, the captured and released ones those of step_log, "
		  . "and every release step_log says found its hold expired left it expired")
	  or diag("holds not in hold_log|hold_log not in holds|captured or released not in step_log|"
		  . "step_log not captured or released|step_log expired not expired = $logs");

	my $pending = $node->safe_psql('bank', qq{
SELECT count(*) FILTER (WHERE j.transfer_id IS NULL OR j.to_table <> p.tbl OR j.to_key <> p.key
						   OR j.amount <> p.amount OR j.to_balance IS NOT NULL),
	   count(*) FILTER (WHERE p.key <> '$HOT'),
	   count(*) - count(DISTINCT p.transfer_id)
  FROM transfer_guard_pending p LEFT JOIN transfer_guard_journal j USING (transfer_id)});
	check($pending eq '0|0|0',
		"$tag: every pending credit is a deferred credit of the journal, once, to the hot row")
	  or diag("not matching the journal|not to the hot row|twice = $pending");
	return;
}

# The server log from $offset: no PANIC or failed assertion, no process
# ended by a signal but those killed (each once, by SIGKILL), no process
# ended with an error status, nothing logged by the worker or another
# process above LOG but the notice of a crash, and no error of a client but
# those a step on a hold may meet.  Once the server is asked to shut down,
# a background worker's end with FATAL 57P01 and exit code 1 is its normal
# end.
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
			next if $type eq 'client backend' && $level eq 'ERROR' && $STEP_STATES{$state};
			next if $stopping && $level eq 'FATAL' && $state eq '57P01';
			push @bad, $line;
		}
	}
	my @missing = grep { $killed{$_} != 1 } @$victims;
	check(@bad == 0 && @missing == 0,
		"$tag: the server log shows no error but those of steps on holds, no unexpected end of a process")
	  or diag("processes killed but not logged once as such: @missing; unexpected lines:\n"
		  . join("\n", @bad[ 0 .. ($#bad < 19 ? $#bad : 19) ]));
	return;
}
