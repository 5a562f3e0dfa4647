
# test/tap/t/002_crash_asynchronous_commit.pl
#
# Claim: with synchronous_commit = off, a crash may lose transfers whose
# COMMIT was acknowledged, but only whole transactions, and only the most
# recent ones of each client: what survives still adds up, stays within the
# guard's limits, and equals the starting balances plus the credits minus the
# debits of the surviving rows of the caller's log.  See
# test/tap/lib/TransferGuardCrash.pm.  TG_CRASHES sets the number of crashes
# (default 10).
#
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use Test::More;
use TransferGuardCrash;

my $fig = TransferGuardCrash::run_series(
	name => 'async',
	synchronous_commit => 'off',
	crashes => $ENV{TG_CRASHES} ? int(($ENV{TG_CRASHES} + 1) / 2) : 10,
	clients => 4,
	transfers_per_client => 5000);

diag(sprintf(
	'synchronous_commit = off: %d crashes survived (%d all processes killed, %d one backend killed), '
	  . '%d transfers acknowledged, %d lost, %d committed but unacknowledged, %d refused, %d checks passed',
	@$fig{qw(crashes kill_all kill_backend acknowledged lost unacknowledged_committed refused checks)}));

done_testing();
