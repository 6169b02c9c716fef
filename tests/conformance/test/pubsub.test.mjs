// Basic publish/subscribe through the official nats.js client: exact payload
// bytes, subjects, reply subjects and wildcard matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { withServer, recorder, settle, closeAll } from '../lib/util.mjs';

const sc = StringCodec();

test('pub/sub delivers exact payload bytes: text, empty, binary, CRLF, 64 KiB', async () => {
  await withServer({}, async (srv) => {
    const sub = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const r = recorder(sub, 'data.bytes');
      await sub.flush();

      const all256 = new Uint8Array(256).map((_, i) => i);
      const big = new Uint8Array(64 * 1024).map((_, i) => (i * 7919 + 13) & 0xff);
      const payloads = [
        sc.encode('hello world'),
        new Uint8Array(0),
        all256,
        sc.encode('line1\r\nMSG fake 1 2\r\nhi\r\n'),
        big,
        sc.encode('héllo ✓'),
      ];
      for (const p of payloads) pub.publish('data.bytes', p);
      await pub.flush();
      const got = await r.waitFor(payloads.length);
      await settle(sub);
      assert.equal(r.msgs.length, payloads.length);
      payloads.forEach((p, i) => {
        assert.equal(got[i].subject, 'data.bytes');
        assert.equal(got[i].reply, '');
        assert.deepEqual(Buffer.from(got[i].data), Buffer.from(p), `payload #${i}`);
      });
      assert.equal(got[1].data.length, 0);
      assert.equal(sc.decode(got[5].data), 'héllo ✓');
    } finally {
      await closeAll(sub, pub);
    }
  });
});

test('publish with a reply subject carries it to the subscriber', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const r = recorder(nc, 'with.reply');
      nc.publish('with.reply', sc.encode('x'), { reply: 'answer.here' });
      const [m] = await r.waitFor(1);
      assert.equal(m.subject, 'with.reply');
      assert.equal(m.reply, 'answer.here');
      assert.equal(sc.decode(m.data), 'x');
    } finally {
      await closeAll(nc);
    }
  });
});

test('messages from one publisher arrive in publish order', async () => {
  await withServer({}, async (srv) => {
    const sub = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const r = recorder(sub, 'order.test');
      await sub.flush();
      for (let i = 0; i < 1000; i++) pub.publish('order.test', sc.encode(String(i)));
      await pub.flush();
      await r.waitFor(1000);
      assert.deepEqual(
        r.msgs.map((m) => sc.decode(m.data)),
        Array.from({ length: 1000 }, (_, i) => String(i)),
      );
    } finally {
      await closeAll(sub, pub);
    }
  });
});

test('subjects are case sensitive and tokens match exactly', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const r = recorder(nc, 'Case.Test');
      await nc.flush();
      for (const s of ['case.test', 'CASE.TEST', 'Case.Test.x', 'Case', 'Case.Tes', 'Case.Test']) {
        nc.publish(s, sc.encode(s));
      }
      await settle(nc);
      assert.deepEqual(r.msgs.map((m) => m.subject), ['Case.Test']);
    } finally {
      await closeAll(nc);
    }
  });
});

test('wildcards * and > match exactly the right subjects', async () => {
  await withServer({}, async (srv) => {
    const sub = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const patterns = ['foo.*', 'foo.>', '>', '*', 'foo.*.baz', '*.bar', 'foo.bar', '*.*.*'];
      const recs = Object.fromEntries(patterns.map((p) => [p, recorder(sub, p)]));
      await sub.flush();
      const subjects = ['foo', 'foo.bar', 'foo.bar.baz', 'foo.x.baz', 'foo.x.qux', 'bar', 'bar.bar', 'a.b.c.d'];
      for (const s of subjects) pub.publish(s, sc.encode(s));
      await pub.flush();
      await settle(sub);
      const got = Object.fromEntries(patterns.map((p) => [p, recs[p].msgs.map((m) => m.subject)]));
      assert.deepEqual(got, {
        'foo.*': ['foo.bar'],
        'foo.>': ['foo.bar', 'foo.bar.baz', 'foo.x.baz', 'foo.x.qux'],
        '>': subjects,
        '*': ['foo', 'bar'],
        'foo.*.baz': ['foo.bar.baz', 'foo.x.baz'],
        '*.bar': ['foo.bar', 'bar.bar'],
        'foo.bar': ['foo.bar'],
        '*.*.*': ['foo.bar.baz', 'foo.x.baz', 'foo.x.qux'],
      });
      // the payload is the subject, untouched
      for (const p of patterns) {
        for (const m of recs[p].msgs) assert.equal(sc.decode(m.data), m.subject);
      }
    } finally {
      await closeAll(sub, pub);
    }
  });
});

test('overlapping subscriptions on one connection each get their own copy', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const a = recorder(nc, 'dup.x');
      const b = recorder(nc, 'dup.x');
      const c = recorder(nc, 'dup.*');
      await nc.flush();
      nc.publish('dup.x', sc.encode('one'));
      await settle(nc);
      for (const r of [a, b, c]) {
        assert.equal(r.msgs.length, 1);
        assert.equal(sc.decode(r.msgs[0].data), 'one');
      }
      assert.equal(new Set([a.sub.getID(), b.sub.getID(), c.sub.getID()]).size, 3);
    } finally {
      await closeAll(nc);
    }
  });
});

test('unsubscribe stops delivery', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const r = recorder(nc, 'unsub.me');
      nc.publish('unsub.me', sc.encode('1'));
      await r.waitFor(1);
      r.sub.unsubscribe();
      nc.publish('unsub.me', sc.encode('2'));
      await settle(nc);
      assert.deepEqual(r.msgs.map((m) => sc.decode(m.data)), ['1']);
      assert.equal(r.sub.isClosed(), true);
    } finally {
      await closeAll(nc);
    }
  });
});
