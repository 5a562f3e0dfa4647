-- test/bench/keys.sql -- the two accounts of one move, for pgbench
--
-- run.sh puts these lines in front of each approach's script (pgbench has no
-- include).  The shape comes from pgbench -D: accounts 1..n, and hot = 1 to
-- make account 1 one side of every move.  :a and :b are two different
-- accounts, uniformly chosen; :a is the source.
--   uniform:  -D n=100000 -D hot=0
--   busy:     -D n=10 -D hot=0       (10 busy accounts)
--   hot:      -D n=100000 -D hot=1   (account 1 and one of the others)
\set x CASE WHEN :hot = 1 THEN 1 ELSE random(1, :n) END
\set y 1 + (:x + random(0, :n - 2)) % :n
\set flip random(0, 1)
\set a CASE WHEN :flip = 1 THEN :x ELSE :y END
\set b CASE WHEN :flip = 1 THEN :y ELSE :x END
