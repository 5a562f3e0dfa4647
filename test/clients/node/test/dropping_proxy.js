'use strict';
// A TCP proxy between one client and the server that drops the connection
// at a chosen point of the PostgreSQL protocol, the way a network failure or
// a crashed load balancer does (the same as DroppingProxy in
// ../../python/tgclients.py).  Both sockets are closed: the client sees the
// connection end, the server sees the client go.
//
// loseReplyTo(marker): the next client message (a simple query, or the Bind
// of an extended query) containing marker goes through to the server; the
// server's reply is read but held back, and when the server sends
// ReadyForQuery (the statement is over: in autocommit, committed) the
// connection is dropped without the client getting a byte of the reply.
// What the server replied is kept in reply (the messages) and readyStatus
// (ReadyForQuery's transaction status, 'I' when no transaction is open any
// more); committedUnseen() reads them.
//
// dropAt(marker): the next client message containing marker is never sent
// to the server; the connection is dropped instead (withheld keeps it).
//
// Each rule applies once; connections after it pass through untouched.

const net = require('node:net');
const path = require('node:path');

// The first word of the requests a client may send before its startup
// packet to ask for an encrypted channel; the proxy refuses them ('N'), so
// that the client goes on in clear text and the proxy can read the protocol
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

class DroppingProxy {
  constructor() {
    this.rule = null;
    this.reply = [];
    this.readyStatus = null;
    this.withheld = Buffer.alloc(0);
    this.links = new Set();
    this.isDropped = false;
    this.droppedNow = new Promise((resolve) => { this.signalDropped = resolve; });
    this.server = net.createServer((client) => this.link(client));
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.host = '127.0.0.1';
    this.port = this.server.address().port;
    return this;
  }

  loseReplyTo(marker) {
    this.rule = { mode: 'loseReply', marker: Buffer.from(marker) };
  }

  dropAt(marker) {
    this.rule = { mode: 'drop', marker: Buffer.from(marker) };
  }

  // Whether the connection was dropped within ms milliseconds.
  async dropped(ms) {
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms, false); });
    try {
      return await Promise.race([this.droppedNow.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get replyTypes() {
    return this.reply.map((m) => String.fromCharCode(m[0]));
  }

  // The server completed the statement whose reply was lost (with
  // CommandComplete, or PortalSuspended for a client that asked for some
  // rows only), with no error and not as a ROLLBACK (a COMMIT in a failed
  // transaction), and left no transaction open: it committed.
  committedUnseen() {
    const kinds = this.replyTypes;
    const tags = this.reply.filter((m) => m[0] === 0x43)
      .map((m) => m.subarray(5).toString().replace(/\0+$/, ''));
    return this.isDropped && (kinds.includes('C') || kinds.includes('s'))
      && !kinds.includes('E') && !tags.includes('ROLLBACK')
      && this.readyStatus === 'I';
  }

  async close() {
    for (const link of this.links) link.kill();
    await new Promise((resolve) => this.server.close(resolve));
  }

  dropNow() {
    this.isDropped = true;
    this.signalDropped();
  }

  link(client) {
    const host = process.env.PGHOST || 'localhost';
    const port = Number(process.env.PGPORT || 5432);
    const upstream = host.startsWith('/')
      ? net.connect(path.join(host, `.s.PGSQL.${port}`))
      : net.connect(port, host);
    const link = { armed: false };
    link.kill = () => {
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    this.links.add(link);
    for (const sock of [client, upstream]) {
      sock.on('error', link.kill);
      sock.on('close', link.kill);
    }

    let fromClient = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        if (!started) {
          // the untyped startup packet, after any encryption request
          if (fromClient.length < 8) return;
          const length = fromClient.readInt32BE(0);
          const code = fromClient.readInt32BE(4);
          if (length === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
            client.write('N');
            fromClient = fromClient.subarray(8);
            continue;
          }
          if (fromClient.length < length) return;
          upstream.write(fromClient.subarray(0, length));
          fromClient = fromClient.subarray(length);
          started = true;
          continue;
        }
        if (fromClient.length < 5) return;
        const length = 1 + fromClient.readInt32BE(1);
        if (fromClient.length < length) return;
        const message = fromClient.subarray(0, length);
        fromClient = fromClient.subarray(length);
        const kind = String.fromCharCode(message[0]);
        const { rule } = this;
        if (rule && 'QPB'.includes(kind) && message.subarray(5).includes(rule.marker)) {
          this.rule = null;
          if (rule.mode === 'drop') {
            this.withheld = message;
            link.kill();
            this.dropNow();
            return;
          }
          link.armed = true;
        }
        upstream.write(message);
      }
    });

    let fromServer = Buffer.alloc(0);
    upstream.on('data', (chunk) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      for (;;) {
        if (fromServer.length < 5) return;
        const length = 1 + fromServer.readInt32BE(1);
        if (fromServer.length < length) return;
        const message = fromServer.subarray(0, length);
        fromServer = fromServer.subarray(length);
        if (!link.armed) {
          client.write(message);
          continue;
        }
        this.reply.push(Buffer.from(message));
        if (message[0] === 0x5a) { // 'Z', ReadyForQuery
          this.readyStatus = String.fromCharCode(message[5]);
          link.kill();
          this.dropNow();
          return;
        }
      }
    });
  }
}

module.exports = { DroppingProxy };
