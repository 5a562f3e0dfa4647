-- bench_legs() alone: what building the legs costs inside batch.sql
SELECT jsonb_array_length(bench_legs(:legs, :n, :hot));
