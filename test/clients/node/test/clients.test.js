'use strict';
// transfer_guard from node-postgres (pg): untyped parameters resolve to the
// text overload and work, a pool of concurrent clients keeps every invariant,
// every documented error reaches the client with its SQLSTATE (err.code)
// and error fields (err.schema, err.table, err.column, err.constraint),
// retries with an idempotency key after a dropped connection move the money
// once, and try_transfer's business outcomes arrive as rows.
//
// The connection comes from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.

const { test, describe, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Pool, Client } = require('pg');
const { DroppingProxy } = require('./dropping_proxy');

const TRANSFER = 'SELECT * FROM transfer($1, $2, $3, $4)';
const BUSY_ACCOUNTS = [1, 2, 3, 4, 5, 6, 7, 8];
const MAX_AMOUNT = 40;

const { cases } = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'errors.json'), 'utf8'));

// errors.json parameters as node-postgres values: {"numeric": s} -> s (pg
// sends every parameter as untyped text anyway)
const caseParams = (params) =>
  params.map((p) => (p !== null && typeof p === 'object' ? p.numeric : p));

// A seeded generator, so that a run can be repeated (mulberry32).
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Each worker's list of [from, to, amount]: random distinct pairs.
function plan(workers, perWorker, seed) {
  const rnd = seeded(seed);
  const pick = () => BUSY_ACCOUNTS[Math.floor(rnd() * BUSY_ACCOUNTS.length)];
  return Array.from({ length: workers }, () =>
    Array.from({ length: perWorker }, () => {
      const from = pick();
      let to = pick();
      while (to === from) to = pick();
      return [from, to, 1 + Math.floor(rnd() * MAX_AMOUNT)];
    }));
}

async function balances(db, keys = BUSY_ACCOUNTS) {
  const { rows } = await db.query(
    'SELECT id, balance FROM accounts WHERE id = ANY($1)', [keys]);
  return Object.fromEntries(rows.map((r) => [Number(r.id), r.balance]));
}

// The invariants a transfer workload must keep (see assert_ledger in
// python/tgclients.py): no error but 23514, total kept, nothing negative,
// unique ids, and the accepted transfers replayed in transfer id order give
// each returned balance and, at the end, the stored ones.
function assertLedger(ledger, initial, final) {
  assert.deepEqual(ledger.unexpected, [], 'errors other than 23514');
  assert.ok(ledger.accepted.length > 0, 'no transfer was accepted');
  const sum = (o) => Object.values(o).reduce((s, v) => s + v, 0);
  assert.equal(sum(final), sum(initial), 'the total of the balances changed');
  assert.deepEqual(Object.entries(final).filter(([, v]) => v < 0), [],
    'a balance is negative');
  const ids = ledger.accepted.map((a) => a.transferId);
  assert.equal(new Set(ids).size, ids.length, 'a transfer id was returned twice');
  const balance = { ...initial };
  const byId = [...ledger.accepted].sort((x, y) =>
    (x.transferId < y.transferId ? -1 : x.transferId > y.transferId ? 1 : 0));
  for (const a of byId) {
    balance[a.from] -= a.amount;
    balance[a.to] += a.amount;
    assert.deepEqual([a.fromBalance, a.toBalance], [balance[a.from], balance[a.to]],
      `transfer ${a.transferId} returned balances the replay does not give`);
  }
  assert.deepEqual(balance, final,
    'the stored balances are not the initial ones plus the accepted transfers');
}

let pool;

before(async () => {
  pool = new Pool({ max: 16 });
});

after(async () => {
  await pool.end();
});

beforeEach(async () => {
  await pool.query('UPDATE accounts SET balance = 100');
  await pool.query('UPDATE object1 SET field1 = 100');
  await pool.query('UPDATE object2 SET field2 = 0');
});

describe('calls', () => {
  test('untyped parameters resolve to the text overload and transfer', async () => {
    // node-postgres sends every parameter as text with no type; a named
    // query is prepared on the server, so its inferred types can be read
    const client = await pool.connect();
    try {
      const { rows } = await client.query(
        { name: 'tg_transfer', text: TRANSFER, values: ['accounts', 1, 2, 30] });
      const prepared = await client.query(
        "SELECT parameter_types::text AS types FROM pg_prepared_statements WHERE name = 'tg_transfer'");
      assert.equal(prepared.rows[0].types, '{regclass,text,text,numeric}');
      assert.equal(rows.length, 1);
      assert.deepEqual([rows[0].from_balance, rows[0].to_balance], ['70', '130']);
      assert.deepEqual(await balances(client, [1, 2]), { 1: 70, 2: 130 });
    } finally {
      client.release();
    }
  });

  test('keys of different sizes work as untyped parameters', async () => {
    await pool.query(TRANSFER, ['accounts', 1, 40000, 1]);
    await pool.query(TRANSFER, ['accounts', 40000, 3000000000, 1]);
    assert.deepEqual(await balances(pool, [1, 40000, 3000000000]),
      { 1: 99, 40000: 100, 3000000000: 101 });
  });

  test('bot scenario: object1.field1 of row 1 into object2.field2 of row 2', async () => {
    const { rows } = await pool.query(
      'SELECT * FROM transfer($1, $2, $3, $4, to_table => $5, to_column => $6)',
      ['object1', 1, 2, 30, 'object2', 'field2']);
    assert.deepEqual([rows[0].from_balance, rows[0].to_balance], ['70', '30']);
    const stored = await pool.query(
      'SELECT (SELECT field1 FROM object1 WHERE id = 1) AS f1,'
      + ' (SELECT field2 FROM object2 WHERE id = 2) AS f2');
    assert.deepEqual(stored.rows[0], { f1: 70, f2: 30 });
  });
});

const KEYED_TRANSFER = 'SELECT * FROM transfer($1, $2, $3, $4, idempotency_key => $5)';
const KEYED_TRY = 'SELECT * FROM try_transfer($1, $2, $3, $4, idempotency_key => $5)';
const TRY = 'SELECT * FROM try_transfer($1, $2, $3, $4)';
// How long a test waits for something the server or the proxy must do (a
// connection dropped, a backend gone, callers queued on a lock)
const WAIT_MS = 15000;
// The keyed moves of the crowd test: several keys, one of them sharing a row
// with another; each key is sent by CROWD clients at once
const CROWD_MOVES = [[1, 2, 10], [3, 4, 20], [5, 6, 30], [2, 7, 5]];
const CROWD = 10;

// An idempotency key no earlier test or run of this database used.
const newKey = (label) => `${label}-${crypto.randomUUID().slice(0, 12)}`;

// The journal's rows for an idempotency key (ids and balances as the text
// node-postgres gives for bigint and numeric).
async function journal(db, key) {
  const { rows } = await db.query(
    'SELECT transfer_id, from_balance, to_balance FROM transfer_guard_journal'
    + ' WHERE idempotency_key = $1 ORDER BY transfer_id', [key]);
  return rows;
}

// Poll sql (one row, one column v) until it gives want.
async function waitUntil(db, sql, params, want, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { rows: [r] } = await db.query(sql, params);
    if (r.v === want) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

const BACKEND_GONE = 'SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1) AS v';
const QUEUED_REQUESTS = 'SELECT count(*)::int AS v FROM pg_stat_activity'
  + ' WHERE datname = current_database() AND pid <> pg_backend_pid()'
  + " AND wait_event_type = 'Lock' AND query LIKE '%try_transfer%'";

// A client connected through the proxy; the 'error' event it emits when the
// proxy drops the connection is expected (the pending query rejects).
async function connectVia(proxy) {
  const client = new Client({ host: proxy.host, port: proxy.port });
  client.on('error', () => {});
  await client.connect();
  return client;
}

// node-postgres rejects the pending query when the connection ends
const connectionLost = (err) => /Connection terminated unexpectedly/.test(err.message);

// A client that lost its connection retries with the same idempotency key:
// whether or not the first attempt committed, the money moves once.  The
// connection is dropped by a proxy (DroppingProxy) at a chosen point of the
// protocol, so the server really commits (or not) and the client really
// gets no reply.
describe('idempotency', () => {
  test('reply lost after commit: the retry with the same key returns the original transfer and moves nothing',
    { timeout: 2 * WAIT_MS }, async () => {
      // the keyed transfer runs in autocommit and the server commits it,
      // but the connection drops before the client gets the reply; the
      // retry (after another transfer changed row 1) gets the original
      // transfer id and the balances recorded then
      const key = newKey('lost-reply');
      const proxy = await new DroppingProxy().listen();
      try {
        proxy.loseReplyTo(key);
        const lost = await connectVia(proxy);
        try {
          await assert.rejects(lost.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key]),
            connectionLost);
        } finally {
          await lost.end().catch(() => {});
        }
        assert.ok(proxy.committedUnseen(),
          `the server did not commit: ${proxy.replyTypes} ${proxy.readyStatus}`);
      } finally {
        await proxy.close();
      }
      const original = await journal(pool, key);
      assert.deepEqual(original.map((r) => [r.from_balance, r.to_balance]), [['70', '130']]);
      await pool.query(TRANSFER, ['accounts', 1, 3, 5]);
      const again = await pool.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key]);
      assert.deepEqual(again.rows, original);
      const tried = await pool.query(KEYED_TRY, ['accounts', 1, 2, 30, key]);
      assert.deepEqual(tried.rows, [{ status: 'duplicate', ...original[0] }]);
      assert.deepEqual(await journal(pool, key), original);
      assert.deepEqual(await balances(pool, [1, 2, 3]), { 1: 65, 2: 130, 3: 105 });
    });

  test('COMMIT reply lost: the retry with the same key returns the transfer seen before COMMIT',
    { timeout: 2 * WAIT_MS }, async () => {
      // the server commits, but the reply to COMMIT is lost with the
      // connection, so the client cannot tell whether it committed
      const key = newKey('lost-commit-reply');
      const proxy = await new DroppingProxy().listen();
      let seen;
      try {
        proxy.loseReplyTo('COMMIT');
        const lost = await connectVia(proxy);
        try {
          await lost.query('BEGIN');
          [seen] = (await lost.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key])).rows;
          await assert.rejects(lost.query('COMMIT'), connectionLost);
        } finally {
          await lost.end().catch(() => {});
        }
        assert.ok(proxy.committedUnseen(),
          `the server did not commit: ${proxy.replyTypes} ${proxy.readyStatus}`);
      } finally {
        await proxy.close();
      }
      assert.deepEqual([seen.from_balance, seen.to_balance], ['70', '130']);
      const again = await pool.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key]);
      assert.deepEqual(again.rows, [seen]);
      assert.deepEqual(await journal(pool, key), [seen]);
      assert.deepEqual(await balances(pool, [1, 2]), { 1: 70, 2: 130 });
    });

  test('dropped before COMMIT: the transaction rolls back and the retry moves the money once',
    { timeout: 2 * WAIT_MS }, async () => {
      // COMMIT never reaches the server: no journal row, balances
      // unchanged; the retry with the same key moves the money itself
      // ('ok', a new transfer id), and a second retry is its 'duplicate'
      const key = newKey('before-commit');
      const proxy = await new DroppingProxy().listen();
      let first;
      try {
        proxy.dropAt('COMMIT');
        const lost = await connectVia(proxy);
        const pid = lost.processID;
        try {
          await lost.query('BEGIN');
          [first] = (await lost.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key])).rows;
          await assert.rejects(lost.query('COMMIT'), connectionLost);
        } finally {
          await lost.end().catch(() => {});
        }
        assert.ok(await proxy.dropped(WAIT_MS));
        assert.match(proxy.withheld.toString(), /COMMIT/);
        await waitUntil(pool, BACKEND_GONE, [pid], true,
          "the dropped connection's backend is gone");
      } finally {
        await proxy.close();
      }
      assert.deepEqual(await journal(pool, key), []);
      assert.deepEqual(await balances(pool, [1, 2]), { 1: 100, 2: 100 });
      const { rows: [moved] } = await pool.query(KEYED_TRY, ['accounts', 1, 2, 30, key]);
      assert.deepEqual([moved.status, moved.from_balance, moved.to_balance], ['ok', '70', '130']);
      assert.notEqual(moved.transfer_id, first.transfer_id);
      const { rows: [again] } = await pool.query(KEYED_TRY, ['accounts', 1, 2, 30, key]);
      assert.deepEqual(again, { ...moved, status: 'duplicate' });
      const { status, ...result } = moved;
      assert.deepEqual(await journal(pool, key), [result]);
      assert.deepEqual(await balances(pool, [1, 2]), { 1: 70, 2: 130 });
    });

  test('the same key with another amount raises TG001 and moves nothing', async () => {
    // err.code carries the extension's own SQLSTATE, and err.detail the
    // difference
    const key = newKey('other-amount');
    const { rows: [first] } = await pool.query(KEYED_TRANSFER, ['accounts', 1, 2, 30, key]);
    for (const sql of [KEYED_TRANSFER, KEYED_TRY]) {
      await assert.rejects(pool.query(sql, ['accounts', 1, 2, 31, key]), (err) => {
        assert.equal(err.code, 'TG001');
        assert.match(err.detail, /amount 30, not 31/);
        return true;
      });
    }
    assert.deepEqual(await journal(pool, key), [first]);
    assert.deepEqual(await balances(pool, [1, 2]), { 1: 70, 2: 130 });
  });

  test('ten clients per key at once: one ok, nine duplicates with the same transfer, the money moved once per key',
    { timeout: 3 * WAIT_MS }, async () => {
      // four keys, ten clients per key, each with its own connection, all
      // sending try_transfer with their key while another connection holds
      // the rows, so that the 40 requests are all queued at once
      const keys = new Map(CROWD_MOVES.map((move, i) => [newKey(`crowd-${i}`), move]));
      const order = [...keys.keys()].flatMap((key) => Array(CROWD).fill(key));
      const clients = await Promise.all(order.map(async () => {
        const client = new Client();
        await client.connect();
        return client;
      }));
      const holder = new Client();
      await holder.connect();
      let replies;
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT FROM accounts WHERE id = ANY($1) FOR UPDATE', [BUSY_ACCOUNTS]);
        const requests = clients.map((client, i) => {
          const [from, to, amount] = keys.get(order[i]);
          return client.query(KEYED_TRY, ['accounts', from, to, amount, order[i]]);
        });
        try {
          await waitUntil(pool, QUEUED_REQUESTS, [], order.length,
            `all ${order.length} requests wait`);
        } finally {
          await holder.query('ROLLBACK');
          replies = await Promise.allSettled(requests);
        }
      } finally {
        await Promise.all([...clients, holder].map((c) => c.end()));
      }
      assert.deepEqual(replies.filter((r) => r.status !== 'fulfilled'), [], 'requests that raised');
      const expected = Object.fromEntries(BUSY_ACCOUNTS.map((k) => [k, 100]));
      for (const [key, [from, to, amount]] of keys) {
        const mine = replies.filter((r, i) => order[i] === key).map((r) => r.value.rows[0]);
        assert.deepEqual(mine.map((r) => r.status).sort(),
          [...Array(CROWD - 1).fill('duplicate'), 'ok'], key);
        const results = new Set(mine.map(({ status, ...result }) => JSON.stringify(result)));
        assert.equal(results.size, 1, `${key}: replies differ: ${[...results]}`);
        const { status, ...result } = mine[0];
        assert.deepEqual(await journal(pool, key), [result], key);
        expected[from] -= amount;
        expected[to] += amount;
      }
      assert.deepEqual(await balances(pool), expected);
    });
});

describe('try_transfer', () => {
  test('business outcomes are rows with a null transfer_id, and the transaction goes on', async () => {
    // too little money, a missing row and a ceiling come back as statuses
    // with transfer_id null and raise nothing, so the next call in the same
    // transaction moves the money
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE capped SET gems = CASE id WHEN 1 THEN 50 ELSE 90 END');
      const call = async (...args) => (await client.query(TRY, args)).rows[0];
      assert.deepEqual(await call('accounts', 1, 2, 1000),
        { status: 'insufficient_funds', transfer_id: null, from_balance: '100', to_balance: '100' });
      assert.deepEqual(await call('accounts', 1, 9, 1),
        { status: 'not_found', transfer_id: null, from_balance: null, to_balance: null });
      assert.deepEqual(await call('capped', 1, 2, 20),
        { status: 'limit_exceeded', transfer_id: null, from_balance: '50', to_balance: '90' });
      const moved = await call('accounts', 1, 2, 30);
      assert.deepEqual([moved.status, moved.from_balance, moved.to_balance], ['ok', '70', '130']);
      assert.match(moved.transfer_id, /^[0-9]+$/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  test('a keyed refusal leaves the key unused', async () => {
    // refused for want of money, the key records nothing: after a deposit
    // the same key moves the money ('ok'), once
    const key = newKey('refused');
    const call = async () => (await pool.query(KEYED_TRY, ['accounts', 1, 2, 150, key])).rows[0];
    assert.deepEqual(await call(),
      { status: 'insufficient_funds', transfer_id: null, from_balance: '100', to_balance: '100' });
    assert.deepEqual(await journal(pool, key), []);
    await pool.query(TRANSFER, ['accounts', 3, 1, 60]);
    const moved = await call();
    assert.deepEqual([moved.status, moved.from_balance, moved.to_balance], ['ok', '10', '250']);
    assert.deepEqual(await call(), { ...moved, status: 'duplicate' });
  });
});

describe('concurrency', () => {
  test('a pool of 16 clients and 32 concurrent workers keep every invariant', async () => {
    const ledger = { accepted: [], refused: 0, unexpected: [] };
    const initial = await balances(pool);
    const work = async (moves) => {
      for (const [from, to, amount] of moves) {
        try {
          const { rows: [r] } = await pool.query(TRANSFER, ['accounts', from, to, amount]);
          ledger.accepted.push({
            from, to, amount,
            transferId: BigInt(r.transfer_id),
            fromBalance: Number(r.from_balance),
            toBalance: Number(r.to_balance),
          });
        } catch (err) {
          if (err.code === '23514') ledger.refused += 1;
          else ledger.unexpected.push([err.code, err.message]);
        }
      }
    };
    await Promise.all(plan(32, 50, 4).map(work));
    const final = await balances(pool);
    console.log(`  pool workers: ${ledger.accepted.length} accepted, ${ledger.refused} refused (23514), ${ledger.unexpected.length} unexpected`);
    assertLedger(ledger, initial, final);
  });

  test('two clients paying each other never deadlock', async () => {
    const ledger = { accepted: [], refused: 0, unexpected: [] };
    // balances of 1000, so that however the two run ahead of each other,
    // none is refused
    await pool.query('UPDATE accounts SET balance = 1000 WHERE id IN (1, 2)');
    const initial = await balances(pool, [1, 2]);
    const work = async (from, to) => {
      const client = await pool.connect();
      try {
        for (let i = 0; i < 300; i += 1) {
          try {
            const { rows: [r] } = await client.query(TRANSFER, ['accounts', from, to, 1]);
            ledger.accepted.push({
              from, to, amount: 1,
              transferId: BigInt(r.transfer_id),
              fromBalance: Number(r.from_balance),
              toBalance: Number(r.to_balance),
            });
          } catch (err) {
            ledger.unexpected.push([err.code, err.message]);
          }
        }
      } finally {
        client.release();
      }
    };
    await Promise.all([work(1, 2), work(2, 1)]);
    assert.equal(ledger.accepted.length, 600);
    assertLedger(ledger, initial, await balances(pool, [1, 2]));
  });
});

describe('errors', () => {
  for (const c of cases) {
    test(`${c.sqlstate}: ${c.name}`, async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        for (const stmt of c.setup || []) await client.query(stmt);
        await assert.rejects(client.query(c.sql, caseParams(c.params)), (err) => {
          assert.equal(err.code, c.sqlstate);
          const want = c.fields || {};
          for (const field of ['schema', 'table', 'column', 'constraint']) {
            if (field in want) assert.equal(err[field], want[field], field);
          }
          if (c.context) assert.match(err.where || '', new RegExp(c.context));
          return true;
        });
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  }

  test('55P03: row locked by another client and nowait', async () => {
    const holder = new Client();
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM accounts WHERE id = 2 FOR UPDATE');
      await assert.rejects(
        pool.query('SELECT * FROM transfer($1, $2, $3, $4, nowait => true)',
          ['accounts', 1, 2, 1]),
        (err) => err.code === '55P03');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });
});
