// Queue groups: one delivery per group per message, spread across members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { withServer, recorder, settle, closeAll } from '../lib/util.mjs';

const sc = StringCodec();
const N = 400;

test('queue group of 4: each message to exactly one member, spread; plain subscriber gets all', async () => {
  await withServer({}, async (srv) => {
    const members = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: srv.url })));
    const plainNc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const recs = members.map((nc) => recorder(nc, 'work.items', { queue: 'workers' }));
      const plain = recorder(plainNc, 'work.items');
      for (const nc of [...members, plainNc]) await nc.flush();

      for (let i = 0; i < N; i++) pub.publish('work.items', sc.encode(String(i)));
      await pub.flush();
      await plain.waitFor(N);
      await settle(...members, plainNc);

      const counts = recs.map((r) => r.msgs.length);
      assert.equal(counts.reduce((a, b) => a + b, 0), N, `total over members ${counts}`);
      for (const c of counts) assert.ok(c >= 20, `every member gets a share, counts ${counts}`);
      const seen = recs.flatMap((r) => r.msgs.map((m) => Number(sc.decode(m.data))));
      assert.equal(new Set(seen).size, N, 'no message delivered twice within the group');
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i),
      );
      assert.deepEqual(
        plain.msgs.map((m) => Number(sc.decode(m.data))),
        Array.from({ length: N }, (_, i) => i),
      );
    } finally {
      await closeAll(...members, plainNc, pub);
    }
  });
});

test('two queue groups on the same subject each get every message once', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const g1 = [recorder(nc, 'jobs', { queue: 'g1' }), recorder(nc, 'jobs', { queue: 'g1' })];
      const g2 = [recorder(nc, 'jobs', { queue: 'g2' }), recorder(nc, 'jobs', { queue: 'g2' })];
      await nc.flush();
      for (let i = 0; i < N; i++) pub.publish('jobs', sc.encode(String(i)));
      await pub.flush();
      await settle(nc);
      for (const [name, group] of [['g1', g1], ['g2', g2]]) {
        const ids = group.flatMap((r) => r.msgs.map((m) => Number(sc.decode(m.data))));
        assert.equal(ids.length, N, `${name} total`);
        assert.equal(new Set(ids).size, N, `${name} each message once`);
      }
    } finally {
      await closeAll(nc, pub);
    }
  });
});

test('queue group with a wildcard subject and a single member gets everything', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const only = recorder(nc, 'q.*', { queue: 'solo' });
      await nc.flush();
      for (let i = 0; i < 10; i++) nc.publish(`q.${i}`, sc.encode(String(i)));
      await settle(nc);
      assert.deepEqual(only.msgs.map((m) => m.subject), Array.from({ length: 10 }, (_, i) => `q.${i}`));
    } finally {
      await closeAll(nc);
    }
  });
});

test('a queue member that unsubscribes stops receiving; the others take over', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const a = recorder(nc, 'qq', { queue: 'g' });
      const b = recorder(nc, 'qq', { queue: 'g' });
      await nc.flush();
      a.sub.unsubscribe();
      for (let i = 0; i < 50; i++) nc.publish('qq', sc.encode(String(i)));
      await settle(nc);
      assert.equal(a.msgs.length, 0);
      assert.equal(b.msgs.length, 50);
    } finally {
      await closeAll(nc);
    }
  });
});
