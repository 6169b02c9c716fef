// Message headers through nats.js (HPUB/HMSG on the wire).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec, headers } from 'nats';
import { withServer, recorder, closeAll } from '../lib/util.mjs';

const sc = StringCodec();

test('server advertises headers support', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      assert.equal(nc.info.headers, true);
    } finally {
      await closeAll(nc);
    }
  });
});

test('published headers and payload arrive unchanged', async () => {
  await withServer({}, async (srv) => {
    const sub = await connect({ servers: srv.url });
    const pub = await connect({ servers: srv.url });
    try {
      const r = recorder(sub, 'hdr.test');
      await sub.flush();
      const h = headers();
      h.append('X-Trace', 'abc-123');
      h.append('X-Multi', 'one');
      h.append('X-Multi', 'two');
      h.set('Content-Type', 'application/json');
      pub.publish('hdr.test', sc.encode('{"a":1}'), { headers: h });

      const h2 = headers();
      h2.set('Only-Header', 'yes');
      pub.publish('hdr.test', new Uint8Array(0), { headers: h2 });
      pub.publish('hdr.test', sc.encode('no headers'));
      await pub.flush();

      const [m1, m2, m3] = await r.waitFor(3);
      assert.equal(sc.decode(m1.data), '{"a":1}');
      assert.ok(m1.headers, 'headers present');
      assert.equal(m1.headers.get('X-Trace'), 'abc-123');
      assert.deepEqual(m1.headers.values('X-Multi'), ['one', 'two']);
      assert.equal(m1.headers.get('Content-Type'), 'application/json');
      assert.deepEqual([...m1.headers.keys()].sort(), ['Content-Type', 'X-Multi', 'X-Trace']);
      assert.equal(m1.headers.hasError, false);

      assert.equal(m2.data.length, 0);
      assert.equal(m2.headers.get('Only-Header'), 'yes');

      assert.equal(sc.decode(m3.data), 'no headers');
      assert.equal(m3.headers, undefined);
    } finally {
      await closeAll(sub, pub);
    }
  });
});

test('request with headers: responder sees them and replies with headers', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      svc.subscribe('svc.hdr', {
        callback: (err, m) => {
          const rh = headers();
          rh.set('X-Seen', m.headers ? m.headers.get('X-Req') : 'none');
          rh.set('X-Count', String(m.headers ? [...m.headers.keys()].length : 0));
          m.respond(sc.encode(`got:${sc.decode(m.data)}`), { headers: rh });
        },
      });
      await svc.flush();
      const h = headers();
      h.set('X-Req', 'r-42');
      const reply = await cli.request('svc.hdr', sc.encode('body'), { headers: h, timeout: 2000 });
      assert.equal(sc.decode(reply.data), 'got:body');
      assert.equal(reply.headers.get('X-Seen'), 'r-42');
      assert.equal(reply.headers.get('X-Count'), '1');
    } finally {
      await closeAll(svc, cli);
    }
  });
});

test('wildcard and queue subscribers also receive headers', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url });
    try {
      const w = recorder(nc, 'hq.>');
      const q = recorder(nc, 'hq.x', { queue: 'g' });
      await nc.flush();
      const h = headers();
      h.set('K', 'v');
      nc.publish('hq.x', sc.encode('p'), { headers: h });
      const [mw] = await w.waitFor(1);
      const [mq] = await q.waitFor(1);
      for (const m of [mw, mq]) {
        assert.equal(m.headers.get('K'), 'v');
        assert.equal(sc.decode(m.data), 'p');
      }
    } finally {
      await closeAll(nc);
    }
  });
});
