# test/tap/lib/TgTap.pm -- PostgreSQL's Perl TAP framework under either name
#
# PostgreSQL 15 renamed the framework's modules: PostgresNode became
# PostgreSQL::Test::Cluster and TestLib became PostgreSQL::Test::Utils, and
# the constructor get_new_node($name) became PostgreSQL::Test::Cluster->new.
# Debian ships the modules of each server version with its
# postgresql-server-dev-NN, under /usr/lib/postgresql/NN/lib/pgxs/src/test/perl
# (test/tap/run.sh puts that directory on the include path).
#
# This module loads the old modules where they exist (13 and 14, whose later
# minor releases also carry the new names as aliases of the old) and the new
# ones otherwise, and offers what the tests use under one name:
#
#   TgTap::new_node($name)     a new, not yet initialized node
#   TgTap::tempdir($prefix)    a temporary directory, removed after success
#   TgTap::slurp_file($path)   a file's contents
#   $TgTap::timeout_default    the framework's timeout for one operation
#
# Everything else the tests call is a method of the node, the same in both.
package TgTap;

use strict;
use warnings;

our $legacy;
our $timeout_default;

BEGIN
{
	$legacy = eval { require PostgresNode; require TestLib; 1 } ? 1 : 0;
	if (!$legacy)
	{
		require PostgreSQL::Test::Cluster;
		require PostgreSQL::Test::Utils;
		PostgreSQL::Test::Utils->import();
	}
	else
	{
		TestLib->import();
	}
	no strict 'refs';
	my $utils = $legacy ? 'TestLib' : 'PostgreSQL::Test::Utils';
	# before the timeout was made configurable (13 and 14's early minor
	# releases), the framework's operations waited 180 seconds
	$timeout_default = ${"${utils}::timeout_default"} // 180;
}

sub new_node
{
	my ($name) = @_;

	return $legacy
	  ? PostgresNode::get_new_node($name)
	  : PostgreSQL::Test::Cluster->new($name);
}

sub tempdir
{
	my ($prefix) = @_;

	return $legacy
	  ? TestLib::tempdir($prefix)
	  : PostgreSQL::Test::Utils::tempdir($prefix);
}

sub slurp_file
{
	my ($path) = @_;

	return $legacy
	  ? TestLib::slurp_file($path)
	  : PostgreSQL::Test::Utils::slurp_file($path);
}

1;
