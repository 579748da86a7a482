#!/usr/bin/perl
# dnsstub.pl - a minimal DNS responder for the DNS test, on loopback only:
# answers A queries for one name with one address, NXDOMAIN for the rest.
# Usage: dnsstub.pl ADDR PORT NAME IPV4 ; logs each query to stdout.
use strict;
use warnings;
use IO::Socket::INET;

my ($addr, $port, $name, $ip) = @ARGV;
my $sock = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port,
                                 Proto => 'udp') or die "bind $addr:$port: $!";
$| = 1;
print "listening on $addr:$port\n";
while (1) {
	my $peer = $sock->recv(my $q, 512) // next;
	next if length($q) < 17;
	my ($id) = unpack('n', $q);
	# The question: labels up to the zero byte, then type and class.
	my ($off, @labels) = (12);
	while ((my $len = ord(substr($q, $off, 1))) != 0) {
		last if $len > 63 || $off + 1 + $len > length($q);
		push @labels, substr($q, $off + 1, $len);
		$off += 1 + $len;
	}
	my $question = substr($q, 12, $off + 5 - 12);
	my ($qtype) = unpack('n', substr($q, $off + 1, 2));
	my $qname = lc join('.', @labels);
	my $hit = $qname eq lc($name) && $qtype == 1;
	print "query $qname type $qtype from ", $sock->peerhost, ": ",
	      ($hit ? $ip : 'NXDOMAIN'), "\n";
	my $flags = $hit ? 0x8180 : 0x8183;
	my $reply = pack('nnnnnn', $id, $flags, 1, $hit ? 1 : 0, 0, 0) . $question;
	$reply .= pack('nnnNn', 0xc00c, 1, 1, 60, 4) . inet_aton($ip) if $hit;
	$sock->send($reply);
}
