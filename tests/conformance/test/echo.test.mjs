// CONNECT echo:false (nats.js noEcho): a connection does not receive its own messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { withServer, recorder, settle, closeAll } from '../lib/util.mjs';

const sc = StringCodec();

test('noEcho connection does not get its own messages; another connection does', async () => {
  await withServer({}, async (srv) => {
    const quiet = await connect({ servers: srv.url, noEcho: true });
    const other = await connect({ servers: srv.url });
    try {
      const self = recorder(quiet, 'echo.test');
      const peer = recorder(other, 'echo.test');
      await quiet.flush();
      await other.flush();
      quiet.publish('echo.test', sc.encode('from-quiet'));
      other.publish('echo.test', sc.encode('from-other'));
      await peer.waitFor(2);
      await self.waitFor(1);
      await settle(quiet, other);
      assert.deepEqual(self.msgs.map((m) => sc.decode(m.data)), ['from-other']);
      assert.deepEqual(peer.msgs.map((m) => sc.decode(m.data)).sort(), ['from-other', 'from-quiet']);
    } finally {
      await closeAll(quiet, other);
    }
  });
});

test('default (echo on) connection receives its own messages', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const r = recorder(nc, 'echo.on');
      nc.publish('echo.on', sc.encode('me'));
      await r.waitFor(1);
      await settle(nc);
      assert.deepEqual(r.msgs.map((m) => sc.decode(m.data)), ['me']);
    } finally {
      await closeAll(nc);
    }
  });
});

test('noEcho connection still answers requests from others and gets replies to its own requests', async () => {
  await withServer({}, async (srv) => {
    const quiet = await connect({ servers: srv.url, noEcho: true });
    const other = await connect({ servers: srv.url });
    try {
      quiet.subscribe('echo.svc', { callback: (_, m) => m.respond(sc.encode('q-answer')) });
      other.subscribe('echo.svc2', { callback: (_, m) => m.respond(sc.encode('o-answer')) });
      await quiet.flush();
      await other.flush();
      const a = await other.request('echo.svc', sc.encode('?'), { timeout: 2000 });
      assert.equal(sc.decode(a.data), 'q-answer');
      const b = await quiet.request('echo.svc2', sc.encode('?'), { timeout: 2000 });
      assert.equal(sc.decode(b.data), 'o-answer');
    } finally {
      await closeAll(quiet, other);
    }
  });
});
