// Draining subscriptions and connections: nothing already published is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { withServer, recorder, settle, closeAll, within } from '../lib/util.mjs';

const sc = StringCodec();
const N = 200;
const seq = (n) => Array.from({ length: n }, (_, i) => String(i));

test('subscription drain delivers every message already published, then closes the sub', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const r = recorder(nc, 'drain.sub');
      await nc.flush();
      for (let i = 0; i < N; i++) pub.publish('drain.sub', sc.encode(String(i)));
      await pub.flush(); // the server has routed all N before the drain starts
      await within(r.sub.drain(), 3000, 'sub.drain()');
      assert.deepEqual(r.msgs.map((m) => sc.decode(m.data)), seq(N));
      assert.equal(r.sub.isClosed(), true);
      // after the drain nothing more is delivered
      pub.publish('drain.sub', sc.encode('late'));
      await settle(pub, nc);
      assert.equal(r.msgs.length, N);
      assert.equal(nc.isClosed(), false);
    } finally {
      await closeAll(nc, pub);
    }
  });
});

test('connection drain delivers pending messages to all subs, then closes', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const a = recorder(nc, 'drain.a');
      const b = recorder(nc, 'drain.*');
      await nc.flush();
      for (let i = 0; i < N; i++) pub.publish('drain.a', sc.encode(String(i)));
      await pub.flush();
      await within(nc.drain(), 3000, 'nc.drain()');
      assert.equal(nc.isClosed(), true);
      assert.deepEqual(a.msgs.map((m) => sc.decode(m.data)), seq(N));
      assert.deepEqual(b.msgs.map((m) => sc.decode(m.data)), seq(N));
      assert.equal(await nc.closed(), undefined, 'closed without error');
    } finally {
      await closeAll(nc, pub);
    }
  });
});

test('messages a draining connection published just before drain() reach their subscriber', async () => {
  await withServer({}, async (srv) => {
    const sub = await connect({ servers: srv.url });
    const nc = await connect({ servers: srv.url });
    try {
      const r = recorder(sub, 'drain.out');
      await sub.flush();
      for (let i = 0; i < N; i++) nc.publish('drain.out', sc.encode(String(i)));
      await within(nc.drain(), 3000, 'nc.drain()');
      await r.waitFor(N);
      await settle(sub);
      assert.deepEqual(r.msgs.map((m) => sc.decode(m.data)), seq(N));
    } finally {
      await closeAll(sub, nc);
    }
  });
});
