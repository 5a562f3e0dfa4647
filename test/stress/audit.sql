-- test/stress/audit.sql -- one audit by an auditor client (pgbench)
--
-- Every check of stress_audit() runs in one REPEATABLE READ snapshot, taken
-- while the transfer clients are moving money.  A violation is committed to
-- stress_violations with the audit, then stress_fail() aborts the client.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT stress_audit(:client_id) AS violations \gset
COMMIT;
\if :violations > 0
SELECT stress_fail('auditor ' || :client_id, :violations);
\endif
