-- test/stress/expire.sql -- one release_expired() by the expiring client
-- (pgbench)
--
-- release_expired() every 250 ms, as an application's scheduled job would
-- call it, so that each call finds several holds past their expiry and
-- releases them in one transaction while transfers and the steps on holds
-- go on (the hold clients call it too, now and then, and the steps on a
-- hold expire it when they find it past its expiry).  stress_release_expired()
-- counts the calls and what they released; any other error than a ceiling's
-- refusal aborts the client.
SELECT stress_release_expired(2000 + :client_id, 'expire:');
\sleep 250 ms
