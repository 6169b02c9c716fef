// max_payload: advertised in INFO, enforced by nats.js client side and by the
// server on the wire (checked on the PUB line, before any payload byte).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, ErrorCode } from 'nats';
import { withServer, recorder, settle, closeAll } from '../lib/util.mjs';
import { rawConnect, rawSession } from '../lib/raw.mjs';
import { ERR } from './golden-errors.mjs';

const LIMIT = 1024;

test('default max_payload is 1 MiB', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      assert.equal(nc.info.max_payload, 1048576);
    } finally {
      await closeAll(nc);
    }
  });
});

test('nats.js learns max_payload from INFO and refuses a larger publish client side', async () => {
  await withServer({ maxPayload: LIMIT }, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      assert.equal(nc.info.max_payload, LIMIT);
      const r = recorder(nc, 'big');
      await nc.flush();
      assert.throws(
        () => nc.publish('big', new Uint8Array(LIMIT + 1)),
        (err) => {
          assert.equal(err.code, ErrorCode.MaxPayloadExceeded);
          assert.equal(err.code, 'MAX_PAYLOAD_EXCEEDED');
          return true;
        },
      );
      // exactly the limit is fine and arrives intact
      const exact = new Uint8Array(LIMIT).map((_, i) => i & 0xff);
      nc.publish('big', exact);
      await r.waitFor(1);
      await settle(nc);
      assert.equal(r.msgs.length, 1);
      assert.deepEqual(Buffer.from(r.msgs[0].data), Buffer.from(exact));
      assert.equal(nc.isClosed(), false);
    } finally {
      await closeAll(nc);
    }
  });
});

test('raw: PUB announcing more than max_payload gets -ERR and close before any payload byte', async () => {
  await withServer({ maxPayload: LIMIT }, async (srv) => {
    const c = await rawSession(srv.port);
    try {
      assert.equal(c.info.max_payload, LIMIT);
      await c.send('PUB foo 2000\r\n'); // and no payload at all
      const { data, closed } = await c.collect(2000);
      assert.equal(data, ERR.maxPayload);
      assert.equal(closed, true);
    } finally {
      c.close();
    }
  });
});

test('raw: the limit is inclusive (PUB of exactly max_payload is accepted, one more is not)', async () => {
  await withServer({ maxPayload: LIMIT }, async (srv) => {
    const ok = await rawSession(srv.port);
    const bad = await rawSession(srv.port);
    try {
      await ok.send(`SUB foo 1\r\nPUB foo ${LIMIT}\r\n${'x'.repeat(LIMIT)}\r\nPING\r\n`);
      assert.equal(await ok.readUntil('PONG\r\n'), `MSG foo 1 ${LIMIT}\r\n${'x'.repeat(LIMIT)}\r\nPONG\r\n`);
      await bad.send(`PUB foo ${LIMIT + 1}\r\n`);
      assert.deepEqual(await bad.collect(2000), { data: ERR.maxPayload, closed: true });
    } finally {
      ok.close();
      bad.close();
    }
  });
});

test('raw: HPUB total size (headers + payload) counts against max_payload', async () => {
  await withServer({ maxPayload: LIMIT }, async (srv) => {
    const c = await rawSession(srv.port, { headers: true });
    try {
      await c.send(`HPUB foo 12 ${LIMIT + 1}\r\n`);
      assert.deepEqual(await c.collect(2000), { data: ERR.maxPayload, closed: true });
    } finally {
      c.close();
    }
  });
});

test('raw: max_payload applies before CONNECT too', async () => {
  await withServer({ maxPayload: LIMIT }, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('PUB foo 2000\r\n');
      assert.deepEqual(await c.collect(2000), { data: ERR.maxPayload, closed: true });
    } finally {
      c.close();
    }
  });
});
