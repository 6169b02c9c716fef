// Byte-level limits: control line length, keepalive (stale connections),
// maximum connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { withServer, within, recorder, closeAll } from '../lib/util.mjs';
import { rawConnect, rawSession } from '../lib/raw.mjs';
import { ERR } from './golden-errors.mjs';

const QUIET = { verbose: false, pedantic: false };

test('default max control line (4096): a 5000-byte SUB line gets -ERR and close', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send(`SUB ${'a'.repeat(5000)} 1\r\n`);
      assert.deepEqual(await c.collect(2000), { data: ERR.maxControlLine, closed: true });
    } finally {
      c.close();
    }
  });
});

test('an over-long control line is rejected before its CRLF arrives', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send(`PUB ${'a'.repeat(5000)}`);
      assert.deepEqual(await c.collect(2000), { data: ERR.maxControlLine, closed: true });
    } finally {
      c.close();
    }
  });
});

test('CONNECT counts as a control line too', async () => {
  await withServer({}, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send(`CONNECT {"verbose":false,"name":"${'n'.repeat(6000)}"}\r\nPING\r\n`);
      assert.deepEqual(await c.collect(2000), { data: ERR.maxControlLine, closed: true });
    } finally {
      c.close();
    }
  });
});

test('a 4000-byte subject is within the default limit', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      const subj = 'a'.repeat(4000);
      await c.send(`SUB ${subj} 1\r\nPUB ${subj} 2\r\nok\r\nPING\r\n`);
      assert.equal(await c.readUntil('PONG\r\n'), `MSG ${subj} 1 2\r\nok\r\nPONG\r\n`);
    } finally {
      c.close();
    }
  });
});

test('configured max control line 256: 300-byte line rejected, 200-byte line fine', async () => {
  await withServer({ maxControlLine: 256 }, async (srv) => {
    const ok = await rawSession(srv.port, QUIET);
    const bad = await rawSession(srv.port, QUIET);
    try {
      const short = 'b'.repeat(200);
      await ok.send(`SUB ${short} 1\r\nPUB ${short} 1\r\nx\r\nPING\r\n`);
      assert.equal(await ok.readUntil('PONG\r\n'), `MSG ${short} 1 1\r\nx\r\nPONG\r\n`);
      await bad.send(`SUB ${'c'.repeat(300)} 1\r\n`);
      assert.deepEqual(await bad.collect(2000), { data: ERR.maxControlLine, closed: true });
    } finally {
      ok.close();
      bad.close();
    }
  });
});

test('stale connection: unanswered PINGs, then -ERR \'Stale Connection\' and close', async () => {
  await withServer({ pingInterval: 0.2, maxPingsOut: 2 }, async (srv) => {
    const t0 = Date.now();
    const c = await rawSession(srv.port, QUIET);
    try {
      const r = await c.collect(5000);
      const took = Date.now() - t0;
      assert.deepEqual(r, { data: 'PING\r\nPING\r\n' + ERR.staleConnection, closed: true });
      assert.ok(took >= 450 && took < 3000, `stale after ${took} ms (3 intervals of 200 ms expected)`);
    } finally {
      c.close();
    }
  });
});

test('a client that answers PINGs with PONG stays connected', async () => {
  await withServer({ pingInterval: 0.2, maxPingsOut: 2 }, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      let pings = 0;
      const until = Date.now() + 1200;
      while (Date.now() < until) {
        let line;
        try {
          line = await c.readLine(Math.max(1, until - Date.now()));
        } catch (err) {
          if (c.closed) throw err;
          break; // timeout: the window is over
        }
        assert.equal(line, 'PING\r\n');
        pings++;
        await c.send('PONG\r\n');
      }
      assert.ok(pings >= 3, `server pinged ${pings} times in 1.2 s at a 200 ms interval`);
      assert.equal(c.closed, false);
      await c.send('SUB x 1\r\nPUB x 1\r\ny\r\n');
      // The server keeps pinging on its 200 ms timer, so a PING may come first.
      const got = await c.readUntil('y\r\n');
      assert.equal(got.replaceAll('PING\r\n', ''), 'MSG x 1 1\r\ny\r\n');
    } finally {
      c.close();
    }
  });
});

test('max connections 2: the third connection gets INFO, -ERR \'maximum connections exceeded\' and close', async () => {
  await withServer({ maxConnections: 2 }, async (srv) => {
    const a = await rawSession(srv.port, QUIET);
    const b = await rawSession(srv.port, QUIET);
    const c = await rawConnect(srv.port); // reads and checks the INFO line
    try {
      assert.deepEqual(await c.collect(2000), { data: ERR.maxConnections, closed: true });
      // the first two are unaffected
      assert.equal(await a.ping(), 'PONG\r\n');
      assert.equal(await b.ping(), 'PONG\r\n');

      // once one leaves, a new connection is accepted again
      a.close();
      await within(a.closedPromise, 2000, 'client socket closed');
      const deadline = Date.now() + 3000;
      let d;
      while (!d) {
        const attempt = await rawConnect(srv.port);
        await attempt.send('CONNECT {"verbose":false}\r\nPING\r\n');
        const line = await attempt.readLine().catch(() => '');
        if (line === 'PONG\r\n') d = attempt;
        else {
          assert.equal(line, ERR.maxConnections);
          attempt.close();
          assert.ok(Date.now() < deadline, 'a slot frees up after a client disconnects');
        }
      }
      d.close();
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});

test('slow consumer: a subscriber that stops reading is cut off; publisher and fast subscribers are unaffected', async () => {
  const N = 600;
  const SIZE = 32 * 1024; // 19.7 MB in all, far more than socket buffers plus max_pending
  await withServer({ maxPending: 256 * 1024, maxPayload: 64 * 1024 }, async (srv) => {
    const slow = await rawSession(srv.port, QUIET);
    const fastNc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      await slow.send('SUB slow.data 1\r\nPING\r\n');
      assert.equal(await slow.readLine(), 'PONG\r\n');
      const fast = recorder(fastNc, 'slow.data');
      await fastNc.flush();
      slow.sock.pause(); // stop reading: kernel buffers fill, then the server's pending bytes grow

      const chunk = new Uint8Array(SIZE).fill(0x61);
      for (let i = 0; i < N; i++) {
        pub.publish('slow.data', chunk);
        if (i % 16 === 15) await pub.flush();
      }
      await within(pub.flush(), 15000, 'publisher flush');
      await fast.waitFor(N, 15000);

      slow.sock.resume();
      const r = await slow.collect(15000);
      assert.equal(r.closed, true, 'slow consumer disconnected');
      const got = (slow.all.match(/MSG slow\.data 1 32768\r\n/g) || []).length;
      assert.ok(got < N, `slow consumer got ${got} of ${N} messages before being cut`);
      assert.equal(fast.msgs.length, N);
      assert.equal(pub.isClosed(), false);
      assert.equal(fastNc.isClosed(), false);
    } finally {
      slow.close();
      await closeAll(fastNc, pub);
    }
  });
});
