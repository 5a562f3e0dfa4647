-- one transfer_batch() call of :legs legs, built on the server by
-- bench_legs() (setup.sql) for the shape (-D legs=... -D n=... -D hot=...)
SELECT count(*) FROM transfer_batch(bench_legs(:legs, :n, :hot));
