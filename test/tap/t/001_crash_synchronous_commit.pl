
# test/tap/t/001_crash_synchronous_commit.pl
#
# Claim: with synchronous_commit = on, a transfer whose COMMIT was
# acknowledged survives any crash of the server, together with the caller's
# own INSERT in the same transaction; after every crash the balances still
# add up, stay within the guard's limits, and equal the starting balances
# plus the credits minus the debits of the caller's log.  See
# test/tap/lib/TransferGuardCrash.pm for the load, the crashes and the
# checks.  TG_CRASHES sets the number of crashes (default 20).
#
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use Test::More;
use TransferGuardCrash;

my $fig = TransferGuardCrash::run_series(
	name => 'sync',
	synchronous_commit => 'on',
	crashes => $ENV{TG_CRASHES} || 20,
	clients => 4,
	transfers_per_client => 5000);

diag(sprintf(
	'synchronous_commit = on: %d crashes survived (%d all processes killed, %d one backend killed), '
	  . '%d transfers acknowledged, %d lost, %d committed but unacknowledged, %d refused, %d checks passed',
	@$fig{qw(crashes kill_all kill_backend acknowledged lost unacknowledged_committed refused checks)}));

done_testing();
