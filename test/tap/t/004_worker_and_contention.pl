
# test/tap/t/004_worker_and_contention.pl
#
# Claims, on a server with transfer_guard in shared_preload_libraries:
#   - the maintenance worker runs, one per database named in
#     transfer_guard.settle_databases, and none for the others;
#   - it settles the committed pending credits of a hot row within a few
#     settle intervals, and fills the emptied escrow slots of a hot row
#     again from what its column then holds (the row's exact balance never
#     changes);
#   - the view transfer_guard_contention counts a wait for a row, with its
#     time, and only for the row that was waited for (on PostgreSQL 14 and
#     later: rows locked through the row path); a role sees the rows of the
#     tables it owns; transfer_guard_contention_reset() empties it.
#
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use TgTap;

my $node = TgTap::new_node('worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'transfer_guard'
transfer_guard.settle_databases = 'tg_worker'
transfer_guard.settle_interval = '100ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE tg_worker');
$node->safe_psql('postgres', 'CREATE DATABASE tg_other');

my $setup = q{
CREATE EXTENSION transfer_guard;
CREATE TABLE acc (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
INSERT INTO acc SELECT g, 1000 FROM generate_series(1, 4) g;
SELECT guard('acc', 'balance');
};
$node->safe_psql($_, $setup) for qw(tg_worker tg_other);

# poll a query until it returns the wanted value, for at most 10 s
sub wait_for
{
	my ($db, $sql, $want) = @_;
	my $got;
	for (1 .. 200)
	{
		$got = $node->safe_psql($db, $sql);
		return $got if $got eq $want;
		usleep(50_000);
	}
	return $got;
}

is(wait_for('postgres',
		q{SELECT string_agg(datname, ',') FROM pg_stat_activity WHERE backend_type = 'transfer_guard worker'},
		'tg_worker'),
	'tg_worker', 'one worker runs, for the database named in transfer_guard.settle_databases');

# pending credits are settled by the worker
$node->safe_psql('tg_worker', q{SELECT set_hot('acc', '1')});
$node->safe_psql('tg_worker', q{SELECT transfer('acc', 2, 1, 10)}) for 1 .. 5;
is(wait_for('tg_worker', q{SELECT count(*) FROM transfer_guard_pending}, '0'),
	'0', 'the worker settles every pending credit');
is($node->safe_psql('tg_worker', q{SELECT balance FROM acc WHERE id = 1}),
	'1050.00', 'the settled credits are in the column');
isnt($node->safe_psql('tg_worker', q{SELECT last_settle FROM transfer_guard_hot_rows}),
	'', 'the hot row shows when it was last settled');

# in a database the worker does not serve, nothing settles by itself
$node->safe_psql('tg_other', q{SELECT set_hot('acc', '1')});
$node->safe_psql('tg_other', q{SELECT transfer('acc', 2, 1, 10)});
usleep(500_000);
is($node->safe_psql('tg_other', q{SELECT count(*) FROM transfer_guard_pending}),
	'1', 'a database not in transfer_guard.settle_databases keeps its pending credits');
is($node->safe_psql('tg_other', q{SELECT settle()}), '1', 'settle() settles them there');

# slots emptied by debits are filled again from the column
$node->safe_psql('tg_worker', q{SELECT set_hot('acc', '3', slots => 4)});
is($node->safe_psql('tg_worker',
		q{SELECT string_agg(amount::text, ' ' ORDER BY slot) FROM transfer_guard_slots WHERE key = '3'}),
	'250.00 250.00 250.00 250.00', 'set_hot() spreads the balance over 4 slots');
# in one transaction (so that the worker cannot step in between): three
# debits empty three slots to 10, and a credit of 400 waits to be settled
# into the column; the worker then settles it and spreads the row's 680
# evenly over the slots again
$node->safe_psql('tg_worker', q{
BEGIN;
SELECT transfer('acc', 4, 3, 400);
SELECT transfer('acc', 3, 2, 240);
SELECT transfer('acc', 3, 2, 240);
SELECT transfer('acc', 3, 2, 240);
COMMIT;
});
my $exact = $node->safe_psql('tg_worker', q{SELECT current_balance('acc', '3')});
is($exact, '680.00', 'the exact balance counts column, pending credits and slots');
is(wait_for('tg_worker',
		q{SELECT string_agg(amount::text, ' ' ORDER BY slot) FROM transfer_guard_slots WHERE key = '3'},
		'170.00 170.00 170.00 170.00'),
	'170.00 170.00 170.00 170.00', 'the worker fills the slots again evenly from the column');
is($node->safe_psql('tg_worker', q{SELECT balance FROM acc WHERE id = 3}),
	'0.00', 'the column keeps only what does not divide evenly');
is($node->safe_psql('tg_worker', q{SELECT current_balance('acc', '3')}), $exact,
	'the exact balance did not change');
is($node->safe_psql('tg_worker', q{SELECT sum(current_balance('acc', id::text)) FROM acc}),
	'4000.00', 'the total did not change');

# contention: one session holds row 2, another waits for it
$node->safe_psql('tg_worker', q{SELECT set_hot('acc', '3', hot => false); SELECT set_hot('acc', '1', hot => false)});
my ($out, $err) = ('', '');
my $holder = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('tg_worker'), '-c',
	  q{BEGIN; SELECT transfer('acc', 2, 4, 1); SELECT pg_sleep(1); COMMIT;} ],
	'<', \undef, '>', \$out, '2>', \$err);
is(wait_for('tg_worker',
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(1)%' AND pid <> pg_backend_pid()},
		'1'),
	'1', 'a session holds row 2');
usleep(100_000);
$node->safe_psql('tg_worker', q{SELECT transfer('acc', 2, 1, 1)});
$holder->finish;
if ($node->safe_psql('postgres', 'SHOW server_version_num') >= 140000)
{
	is($node->safe_psql('tg_worker', q{SELECT key || ':' || waits FROM transfer_guard_contention ORDER BY key}),
		'2:1', 'the view counts one wait, for the row that was waited for');
	ok($node->safe_psql('tg_worker',
			q{SELECT wait_time >= interval '0.15 s' FROM transfer_guard_contention WHERE key = '2'}) eq 't',
		'the wait time covers the time the row was held (at least 0.15 s of the 1 s)');
}
else
{
	# 13 has no row path: rows are locked by statements, whose waits are
	# not counted (README, Hot rows)
	is($node->safe_psql('tg_worker', q{SELECT count(*) FROM transfer_guard_contention}),
		'0', 'on PostgreSQL 13 (no row path) the view counts no wait');
	pass('on PostgreSQL 13 there is no wait time to compare');
}
$node->safe_psql('tg_worker', q{CREATE ROLE tg_stranger});
is($node->safe_psql('tg_worker', q{SET ROLE tg_stranger; SELECT count(*) FROM transfer_guard_contention}),
	'0', 'a role that owns no table sees none of its rows');
$node->safe_psql('tg_worker', q{SELECT transfer_guard_contention_reset()});
is($node->safe_psql('tg_worker', q{SELECT count(*) FROM transfer_guard_contention}),
	'0', 'transfer_guard_contention_reset() empties it');

$node->stop;
done_testing();
