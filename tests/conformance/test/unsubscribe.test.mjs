// Auto-unsubscribe after N messages (UNSUB sid max).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { withServer, settle, closeAll, within } from '../lib/util.mjs';

const sc = StringCodec();

async function drainIterator(sub) {
  const got = [];
  for await (const m of sub) got.push(sc.decode(m.data));
  return got;
}

test('subscribe {max: 3}: exactly 3 of 10 delivered and the iterator ends', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const sub = nc.subscribe('auto.max', { max: 3 });
      const done = drainIterator(sub);
      await nc.flush();
      for (let i = 0; i < 10; i++) pub.publish('auto.max', sc.encode(String(i)));
      await pub.flush();
      assert.deepEqual(await within(done, 3000, 'iterator end'), ['0', '1', '2']);
      assert.equal(sub.getReceived(), 3);
      assert.equal(sub.isClosed(), true);
      await settle(nc);
      assert.equal(sub.getReceived(), 3);
    } finally {
      await closeAll(nc, pub);
    }
  });
});

test('sub.unsubscribe(2) after creation: exactly 2 delivered', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const sub = nc.subscribe('auto.later');
      sub.unsubscribe(2);
      const done = drainIterator(sub);
      await nc.flush();
      for (let i = 0; i < 10; i++) pub.publish('auto.later', sc.encode(String(i)));
      await pub.flush();
      assert.deepEqual(await within(done, 3000, 'iterator end'), ['0', '1']);
      assert.equal(sub.getReceived(), 2);
    } finally {
      await closeAll(nc, pub);
    }
  });
});

test('unsubscribe(n) after some messages counts the ones already delivered', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const got = [];
      const sub = nc.subscribe('auto.count', { callback: (_, m) => got.push(sc.decode(m.data)) });
      for (let i = 0; i < 3; i++) nc.publish('auto.count', sc.encode(`a${i}`));
      await nc.flush();
      sub.unsubscribe(5); // 3 seen, so 2 more
      for (let i = 0; i < 5; i++) nc.publish('auto.count', sc.encode(`b${i}`));
      await settle(nc);
      assert.deepEqual(got, ['a0', 'a1', 'a2', 'b0', 'b1']);
      assert.equal(sub.isClosed(), true);
    } finally {
      await closeAll(nc);
    }
  });
});
