#!/usr/bin/perl
#
# test/release/meta.pl -- check META.json against the PGXN Meta Spec 1.0.x
#
#     perl test/release/meta.pl META.json [DISTDIR]
#
# No validator of the PGXN spec is packaged in Debian (pgxnclient installs
# distributions, it does not validate them), so this checks what the spec
# (https://pgxn.org/spec/, meta-spec 1.0.0) requires, written from its text:
# the required keys and their types, the allowed keys at each level (custom
# keys begin with x_ or X_), SemVer versions, version ranges in prereqs, the
# license names the spec lists, and the enums.  With DISTDIR, the files that
# "provides" names must exist in it.  Prints "ok N - ..." or
# "not ok N - ..." per finding group and exits non-zero on a failure.
#
use strict;
use warnings;
use JSON::PP;

my ($file, $distdir) = @ARGV;
die "usage: $0 META.json [DISTDIR]\n" unless $file;

my @errors;
sub err { push @errors, join('', @_); }

my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)
	(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?
	(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/x;
my $custom = qr/^[xX]_./;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1
  artistic_2 bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1
  lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0
  ssleay sun zlib open_source restricted unrestricted unknown);

sub is_str { my ($v) = @_; return defined $v && !ref $v; }	# booleans are objects
sub is_obj { return ref $_[0] eq 'HASH'; }
sub is_arr { return ref $_[0] eq 'ARRAY'; }

# a term: at least two characters, no slash, backslash, space or control
sub check_term
{
	my ($what, $v) = @_;
	err("$what must be a string") unless is_str($v);
	return unless is_str($v);
	err("$what \"$v\" must be a term: 2+ characters, no / \\ space or control")
	  unless $v =~ /^[^\/\\\s[:cntrl:]]{2,}$/;
}

sub check_keys
{
	my ($what, $h, @allowed) = @_;
	my %ok = map { $_ => 1 } @allowed;
	for my $k (sort keys %$h)
	{
		err("$what: unknown key \"$k\"") unless $ok{$k} || $k =~ $custom;
	}
}

sub check_version
{
	my ($what, $v) = @_;
	err("$what must be a SemVer string, not " . (defined $v ? "\"$v\"" : 'missing'))
	  unless is_str($v) && $v =~ $semver;
}

# a version range: 0, or comma-separated [op] SemVer
sub check_range
{
	my ($what, $v) = @_;
	return if defined $v && !ref $v && $v eq '0';
	if (!is_str($v))
	{
		err("$what must be 0 or a version range string");
		return;
	}
	for my $part (split /,\s*/, $v)
	{
		(my $ver = $part) =~ s/^(?:[=!]=|[<>]=?)\s*//;
		err("$what: \"$part\" is not [op] SemVer") unless $ver =~ $semver;
	}
}

my $text = do { local $/; open my $fh, '<', $file or die "$file: $!\n"; <$fh> };
my $meta = eval { JSON::PP->new->relaxed(0)->decode($text) };
if (!$meta)
{
	print "not ok 1 - $file is JSON: $@";
	exit 1;
}
err("the document must be an object") unless is_obj($meta);

# required keys
for my $k (qw(name version abstract maintainer license provides meta-spec))
{
	err("required key \"$k\" is missing") unless exists $meta->{$k};
}
check_keys('top level', $meta, qw(name version abstract maintainer license
  provides meta-spec description generated_by tags no_index prereqs
  release_status resources));

check_term('name', $meta->{name});
check_version('version', $meta->{version});
for my $k (qw(abstract description generated_by))
{
	next unless exists $meta->{$k};
	err("$k must be a non-empty string") unless is_str($meta->{$k}) && length $meta->{$k};
}

# maintainer: a string or a non-empty array of strings
my $m = $meta->{maintainer};
if (is_arr($m))
{
	err("maintainer: an empty list") unless @$m;
	err("maintainer: every entry must be a non-empty string")
	  if grep { !is_str($_) || !length } @$m;
}
elsif (!(is_str($m) && length $m))
{
	err("maintainer must be a string or a list of strings");
}

# license: a known name, a list of them, or an object of name => URI
my $l = $meta->{license};
if (is_str($l)) { err("license \"$l\" is not one the spec names") unless $licenses{$l}; }
elsif (is_arr($l))
{
	err("license: an empty list") unless @$l;
	for (@$l) { err("license \"$_\" is not one the spec names") unless is_str($_) && $licenses{$_}; }
}
elsif (is_obj($l))
{
	err("license: an empty object") unless %$l;
	for (sort keys %$l) { err("license \"$_\" must map to a URI") unless is_str($l->{$_}) && $l->{$_} =~ m{^[a-z][a-z0-9+.-]*:}i; }
}
else { err("license must be a string, a list or an object"); }

# provides: extension name => { file, version [, abstract, docfile] }
my $p = $meta->{provides};
if (!is_obj($p) || !%$p) { err("provides must be a non-empty object"); }
else
{
	for my $ext (sort keys %$p)
	{
		check_term("provides key", $ext);
		my $e = $p->{$ext};
		if (!is_obj($e)) { err("provides.$ext must be an object"); next; }
		check_keys("provides.$ext", $e, qw(file version abstract docfile));
		err("provides.$ext.file is required") unless is_str($e->{file});
		check_version("provides.$ext.version", $e->{version});
		for my $k (qw(file docfile))
		{
			next unless is_str($e->{$k});
			err("provides.$ext.$k must be a relative unix path") if $e->{$k} =~ m{^/|\\};
			err("provides.$ext.$k: $e->{$k} is not in the distribution")
			  if defined $distdir && !-f "$distdir/$e->{$k}";
		}
		err("provides.$ext.abstract must be a non-empty string")
		  if exists $e->{abstract} && !(is_str($e->{abstract}) && length $e->{abstract});
	}
}

# meta-spec: version 1.0.x, url the spec's
my $s = $meta->{'meta-spec'};
if (!is_obj($s)) { err("meta-spec must be an object"); }
else
{
	check_keys('meta-spec', $s, qw(version url));
	err("meta-spec.version must be 1.0.x") unless is_str($s->{version}) && $s->{version} =~ /^1\.0\.\d+$/;
	err("meta-spec.url must be the spec's") if exists $s->{url}
	  && !(is_str($s->{url}) && $s->{url} =~ m{^https?://pgxn\.org/meta/spec\.txt$});
}

# tags: non-empty strings of at most 255 characters
if (exists $meta->{tags})
{
	my $t = $meta->{tags};
	if (!is_arr($t) || !@$t) { err("tags must be a non-empty list"); }
	else { for (@$t) { err("tag must be a string of 1 to 255 characters") unless is_str($_) && length $_ >= 1 && length $_ <= 255; } }
}

# release_status
err("release_status must be stable, testing or unstable")
  if exists $meta->{release_status} && !(is_str($meta->{release_status})
	&& $meta->{release_status} =~ /^(stable|testing|unstable)$/);

# prereqs: phase => relationship => { name => version range }
if (exists $meta->{prereqs})
{
	my $pr = $meta->{prereqs};
	if (!is_obj($pr) || !%$pr) { err("prereqs must be a non-empty object"); }
	else
	{
		check_keys('prereqs', $pr, qw(configure build test runtime develop));
		for my $phase (grep { !/$custom/ } sort keys %$pr)
		{
			my $ph = $pr->{$phase};
			if (!is_obj($ph) || !%$ph) { err("prereqs.$phase must be a non-empty object"); next; }
			check_keys("prereqs.$phase", $ph, qw(requires recommends suggests conflicts));
			for my $rel (grep { !/$custom/ } sort keys %$ph)
			{
				my $r = $ph->{$rel};
				if (!is_obj($r) || !%$r) { err("prereqs.$phase.$rel must be a non-empty object"); next; }
				for my $name (sort keys %$r)
				{
					check_term("prereqs.$phase.$rel key", $name);
					check_range("prereqs.$phase.$rel.$name", $r->{$name});
				}
			}
		}
	}
}

# resources: homepage URI, bugtracker {web, mailto}, repository {url, web, type}
if (exists $meta->{resources})
{
	my $r = $meta->{resources};
	if (!is_obj($r) || !%$r) { err("resources must be a non-empty object"); }
	else
	{
		check_keys('resources', $r, qw(homepage bugtracker repository));
		err("resources.homepage must be a URI") if exists $r->{homepage} && !(is_str($r->{homepage}) && $r->{homepage} =~ m{^[a-z][a-z0-9+.-]*:}i);
		check_keys('resources.bugtracker', $r->{bugtracker}, qw(web mailto)) if is_obj($r->{bugtracker});
		check_keys('resources.repository', $r->{repository}, qw(url web type)) if is_obj($r->{repository});
	}
}

# no_index: file and directory lists (a string or a list of strings each)
if (exists $meta->{no_index})
{
	my $n = $meta->{no_index};
	if (!is_obj($n)) { err("no_index must be an object"); }
	else { check_keys('no_index', $n, qw(file directory)); }
}

if (@errors)
{
	print "not ok 1 - $file follows the PGXN Meta Spec 1.0\n";
	print "# $_\n" for @errors;
	exit 1;
}
print "ok 1 - $file follows the PGXN Meta Spec 1.0\n";
exit 0;
