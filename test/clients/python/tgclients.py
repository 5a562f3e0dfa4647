"""
Shared by the Python client suites (psycopg, asyncpg, django): the error
cases of errors.json, the concurrent workload's plan, the invariants checked
after it, a proxy that drops connections at a chosen point of the protocol,
and the runner that ends each suite with its counts.

The connection comes from the environment (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE), as run.sh sets it.
"""

import json
import os
import random
import socket
import struct
import sys
import threading
import time
import unittest
import uuid
from decimal import Decimal

CLIENTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The busy accounts of fixture.sql: 8 rows of 100 each.  Few rows and
# amounts up to 40 make callers collide on the same rows, pay each other in
# both directions, and often find too little on the source row.
BUSY_ACCOUNTS = list(range(1, 9))
MAX_AMOUNT = 40


def error_cases():
    """The cases of errors.json, one per row of README's error table."""
    with open(os.path.join(CLIENTS_DIR, "errors.json"), encoding="utf-8") as f:
        return json.load(f)["cases"]


def case_params(params):
    """errors.json parameters as Python values: {"numeric": s} -> Decimal."""
    return [Decimal(p["numeric"]) if isinstance(p, dict) else p for p in params]


def case_test_name(case):
    """A test method name that carries the case's claim."""
    words = "".join(c if c.isalnum() else " " for c in case["name"].lower()).split()
    return "test_error_%s_%s" % (case["sqlstate"].lower(), "_".join(words))


def plan(workers, per_worker, seed, accounts=BUSY_ACCOUNTS):
    """Each worker's list of (from, to, amount): random distinct pairs."""
    rng = random.Random(seed)
    return [
        [tuple(rng.sample(accounts, 2)) + (rng.randint(1, MAX_AMOUNT),)
         for _ in range(per_worker)]
        for _ in range(workers)
    ]


class Ledger:
    """What the callers were told: the accepted transfers with the ids and
    balances transfer() returned, the refusals, and anything unexpected."""

    def __init__(self):
        self.accepted = []      # (from, to, amount, transfer_id, from_bal, to_bal)
        self.refused = 0        # 23514: not enough on the source row
        self.unexpected = []    # any other error, as (sqlstate, message)

    def accept(self, src, dst, amount, row):
        transfer_id, from_balance, to_balance = row
        self.accepted.append((src, dst, amount, transfer_id, from_balance, to_balance))

    def summary(self):
        return "%d accepted, %d refused (23514), %d unexpected" % (
            len(self.accepted), self.refused, len(self.unexpected))


def assert_ledger(test, ledger, initial, final):
    """The invariants a transfer workload must keep, checked on the rows
    (initial and final: {key: balance}) and on what the callers were told:

    - no error other than 23514, and some transfers accepted;
    - the total is unchanged and no balance is negative;
    - transfer ids are unique;
    - replaying the accepted transfers in transfer id order from the initial
      balances gives, step by step, the balances each call returned, and at
      the end the balances stored: no update was lost, none was applied
      twice, none was reported but not stored.  (The id is drawn while the
      call holds both rows, and each call here commits on its own, so calls
      on one row get increasing ids in the order they changed it.)
    """
    test.assertEqual(ledger.unexpected, [], "errors other than 23514")
    test.assertGreater(len(ledger.accepted), 0, "no transfer was accepted")
    test.assertEqual(sum(final.values()), sum(initial.values()),
                     "the total of the balances changed")
    test.assertEqual({k: v for k, v in final.items() if v < 0}, {},
                     "a balance is negative")
    ids = [a[3] for a in ledger.accepted]
    test.assertEqual(len(set(ids)), len(ids), "a transfer id was returned twice")
    balance = dict(initial)
    for src, dst, amount, transfer_id, from_bal, to_bal in sorted(
            ledger.accepted, key=lambda a: a[3]):
        balance[src] -= amount
        balance[dst] += amount
        test.assertEqual((from_bal, to_bal), (balance[src], balance[dst]),
                         "transfer %d returned balances the replay does not give"
                         % transfer_id)
    test.assertEqual(balance, final,
                     "the stored balances are not the initial ones plus the accepted transfers")


def new_key(label):
    """An idempotency key no earlier test or run of this database used."""
    return "%s-%s" % (label, uuid.uuid4().hex[:12])


# How long a test waits for something the server or the proxy must do
# (a connection dropped, a backend gone, callers queued on a lock)
WAIT_SECONDS = 15

# The first word of the requests a client may send before its startup
# packet to ask for an encrypted channel; the proxy refuses them ('N'), so
# that the client goes on in clear text and the proxy can read the protocol
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


def _read_exact(sock, n):
    """n bytes from sock, or None if the connection ends first."""
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(sock):
    """One typed protocol message, as (type, whole message), or None."""
    head = _read_exact(sock, 5)
    if head is None:
        return None
    length = struct.unpack("!i", head[1:])[0]
    body = _read_exact(sock, length - 4)
    if body is None:
        return None
    return head[:1], head + body


class DroppingProxy:
    """A TCP proxy between one client and the server that drops the
    connection at a chosen point of the PostgreSQL protocol, the way a
    network failure or a crashed load balancer does.  Both sockets are shut
    down: the client sees the connection end, the server sees the client go.

    lose_reply_to(marker): the next client message (a simple query, or the
    Bind of an extended query) containing marker goes through to the server;
    the server's reply is read but held back, and when the server sends
    ReadyForQuery (the statement is over: in autocommit, committed) the
    connection is dropped without the client getting a byte of the reply.
    What the server replied is kept: reply (the messages), reply_types
    (their types) and ready_status (ReadyForQuery's transaction status, b"I"
    when no transaction is open any more); committed_unseen() reads them.

    drop_at(marker): the next client message containing marker is never
    sent to the server; the connection is dropped instead.

    Each rule applies once; connections after it pass through untouched.
    """

    def __init__(self):
        host = os.environ.get("PGHOST", "localhost")
        port = int(os.environ.get("PGPORT", "5432"))
        if host.startswith("/"):
            self._upstream = ("unix", os.path.join(host, ".s.PGSQL.%d" % port))
        else:
            self._upstream = ("tcp", (host, port))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.host, self.port = self._listener.getsockname()
        self._lock = threading.Lock()
        self._rule = None
        self._links = []
        self.dropped = threading.Event()
        self.reply = []
        self.ready_status = None
        self.withheld = b""
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def lose_reply_to(self, marker):
        with self._lock:
            self._rule = ("lose_reply", marker)

    def drop_at(self, marker):
        with self._lock:
            self._rule = ("drop", marker)

    def wait_dropped(self, timeout=WAIT_SECONDS):
        return self.dropped.wait(timeout)

    def committed_unseen(self):
        """The server completed the statement whose reply was lost (with
        CommandComplete, or PortalSuspended for a client that asked for one
        row), with no error and not as a ROLLBACK (a COMMIT in a failed
        transaction), and left no transaction open: it committed."""
        kinds = [m[:1] for m in self.reply]
        tags = [m[5:].rstrip(b"\0") for m in self.reply if m[:1] == b"C"]
        return (self.dropped.is_set() and (b"C" in kinds or b"s" in kinds)
                and b"E" not in kinds and b"ROLLBACK" not in tags
                and self.ready_status == b"I")

    @property
    def reply_types(self):
        return [m[:1] for m in self.reply]

    def close(self):
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            links = list(self._links)
        for link in links:
            _kill(link)

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            kind, address = self._upstream
            try:
                if kind == "unix":
                    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    server.connect(address)
                else:
                    server = socket.create_connection(address)
            except OSError:
                client.close()
                continue
            link = {"client": client, "server": server, "armed": False}
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._client_to_server, args=(link,),
                             daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(link,),
                             daemon=True).start()

    def _client_to_server(self, link):
        client, server = link["client"], link["server"]
        try:
            # the untyped startup packet, after any encryption request
            while True:
                head = _read_exact(client, 8)
                if head is None:
                    return
                length, code = struct.unpack("!ii", head)
                if length == 8 and code in (SSL_REQUEST, GSSENC_REQUEST):
                    client.sendall(b"N")
                    continue
                rest = _read_exact(client, length - 8)
                if rest is None:
                    return
                server.sendall(head + rest)
                break
            while True:
                got = _read_message(client)
                if got is None:
                    return
                kind, message = got
                with self._lock:
                    rule = self._rule
                    if rule and kind in (b"Q", b"P", b"B") and rule[1] in message[5:]:
                        self._rule = None
                        if rule[0] == "drop":
                            self.withheld = message
                            self.dropped.set()
                            return
                        link["armed"] = True
                server.sendall(message)
        except OSError:
            return
        finally:
            _kill(link)

    def _server_to_client(self, link):
        client, server = link["client"], link["server"]
        try:
            while True:
                got = _read_message(server)
                if got is None:
                    return
                kind, message = got
                if link["armed"]:
                    self.reply.append(message)
                    if kind == b"Z":
                        self.ready_status = message[5:6]
                        self.dropped.set()
                        return
                    continue
                client.sendall(message)
        except OSError:
            return
        finally:
            _kill(link)


def _kill(link):
    """Drop both sides of a proxied connection."""
    for sock in (link["client"], link["server"]):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass


class CountingResult(unittest.TextTestResult):
    """Counts the tests that passed (unittest itself counts only the others)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def last_exception_line(trace):
    """The "Class: message" line of a formatted traceback."""
    lines = trace.rstrip().splitlines()
    after = max((i for i, l in enumerate(lines) if l.startswith("  File ")),
                default=-1)
    for line in lines[after + 1:]:
        if not line.startswith(" "):
            return line
    return lines[-1] if lines else ""


def main():
    """run SUITE PATH: run the tests of PATH (a test_*.py file, or a folder
    whose test_*.py files are run) and end with the counts,
    "SUITE: N passed, N failed, N skipped"; exit non-zero if any failed."""
    if len(sys.argv) != 3:
        sys.exit("usage: tgclients.py SUITE PATH")
    suite_name, path = sys.argv[1], os.path.abspath(sys.argv[2])
    if os.path.isdir(path):
        start, pattern = path, "test_*.py"
    else:
        start, pattern = os.path.dirname(path), os.path.basename(path)
    sys.path.insert(0, start)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    started = time.monotonic()
    tests = unittest.defaultTestLoader.discover(start, pattern=pattern,
                                                top_level_dir=start)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult,
                                     stream=sys.stdout)
    result = runner.run(tests)
    # an expected failure is a known problem still present (its test says
    # which); an unexpected success means it was fixed and the marker must go
    passed = result.passed
    failed = (len(result.failures) + len(result.errors)
              + len(result.unexpectedSuccesses))
    if result.testsRun == 0:
        failed += 1
        print("%s: no test ran" % suite_name)
    for test, trace in result.expectedFailures:
        print("%s: known problem still present: %s\n    %s" % (
            suite_name, test.id(), last_exception_line(trace)))
    for test in result.unexpectedSuccesses:
        print("%s: known problem fixed, remove its expectedFailure: %s" % (
            suite_name, test.id()))
    known = len(result.expectedFailures)
    print("%s: %.1fs" % (suite_name, time.monotonic() - started))
    print("%s: %d passed, %d failed, %d skipped%s" % (
        suite_name, passed, failed, len(result.skipped),
        ", %d known problem%s" % (known, "" if known == 1 else "s") if known else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
