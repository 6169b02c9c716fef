// Publish/subscribe permissions through nats.js: how violations surface in
// the client (status events, subscription errors, request rejections) and
// which messages flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec, ErrorCode, Events } from 'nats';
import { withServer, recorder, settle, closeAll, statusWatcher, within } from '../lib/util.mjs';
import { permPublish, permSubscribe, clientMessage } from './golden-errors.mjs';

const sc = StringCodec();

// limited: may publish only under pub.> and secret.> (but not secret.x) and
// _INBOX.>; has no subscribe allow list (everything allowed) except the deny list.
// publisher: no permissions at all.
// subonly: only subscribe permissions, so publishing is unrestricted.
const users = [
  {
    user: 'limited',
    password: 'p',
    permissions: {
      publish: { allow: ['pub.>', 'secret.>', '_INBOX.>'], deny: ['secret.x'] },
      subscribe: { deny: ['secret.>', 'hidden'] },
    },
  },
  { user: 'publisher', password: 'p' },
  { user: 'subonly', password: 'p', permissions: { subscribe: { allow: ['feed.>'], deny: ['feed.private'] } } },
];

async function both(srv, user) {
  const nc = await connect({ servers: srv.url, user, pass: 'p' });
  const admin = await connect({ servers: srv.url, user: 'publisher', pass: 'p' });
  return [nc, admin];
}

test('publish to a denied subject: async error status, message dropped, connection stays usable', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      const st = statusWatcher(nc);
      const watch = recorder(admin, '>');
      await admin.flush();

      nc.publish('secret.x', sc.encode('nope'));
      const ev = await st.waitFor((s) => s.type === Events.Error, 3000, 'error status');
      assert.equal(ev.data, ErrorCode.PermissionsViolation);
      assert.deepEqual(ev.permissionContext, { operation: 'publish', subject: 'secret.x', queue: undefined });

      // still connected, other publishes work
      nc.publish('pub.ok', sc.encode('yes'));
      nc.publish('secret.y', sc.encode('allowed too'));
      await nc.flush();
      await watch.waitFor(2);
      await settle(admin);
      assert.equal(nc.isClosed(), false);
      assert.deepEqual(watch.msgs.map((m) => m.subject), ['pub.ok', 'secret.y']);
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('request to a denied subject rejects with the exact permissions violation text', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      admin.subscribe('secret.x', { callback: (_, m) => m.respond(sc.encode('leak')) });
      await admin.flush();
      await assert.rejects(nc.request('secret.x', sc.encode('?'), { timeout: 3000 }), (err) => {
        assert.equal(err.code, ErrorCode.PermissionsViolation);
        assert.equal(err.message, clientMessage(permPublish('secret.x')));
        assert.equal(err.message, `'Permissions Violation for Publish to "secret.x"'`);
        return true;
      });
      // an allowed request on the same connection still works
      admin.subscribe('pub.svc', { callback: (_, m) => m.respond(sc.encode('fine')) });
      await admin.flush();
      const m = await nc.request('pub.svc', sc.encode('?'), { timeout: 3000 });
      assert.equal(sc.decode(m.data), 'fine');
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('publish outside the allow list is denied; no allow list means everything else is allowed', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    const free = await connect({ servers: srv.url, user: 'subonly', pass: 'p' });
    try {
      const st = statusWatcher(nc);
      const watch = recorder(admin, '>');
      await admin.flush();
      nc.publish('other.subject', sc.encode('x'));
      const ev = await st.waitFor((s) => s.type === Events.Error, 3000, 'error status');
      assert.deepEqual(ev.permissionContext, { operation: 'publish', subject: 'other.subject', queue: undefined });

      // subonly has no publish permissions at all: anything goes
      free.publish('other.subject', sc.encode('y'));
      free.publish('secret.x', sc.encode('z'));
      await free.flush();
      await watch.waitFor(2);
      await settle(admin, nc);
      assert.deepEqual(watch.msgs.map((m) => `${m.subject}=${sc.decode(m.data)}`), ['other.subject=y', 'secret.x=z']);
      assert.equal(st.events.filter((s) => s.type === Events.Error).length, 1);
    } finally {
      await closeAll(nc, admin, free);
    }
  });
});

test('subscribe to a denied subject: the subscription fails with the exact text; others keep working', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      const st = statusWatcher(nc);
      const denied = nc.subscribe('secret.y');
      const iter = (async () => {
        for await (const _ of denied) {
          // no message may arrive
        }
      })();
      await assert.rejects(within(iter, 3000, 'denied subscription iterator'), (err) => {
        assert.equal(err.code, ErrorCode.PermissionsViolation);
        assert.equal(err.message, clientMessage(permSubscribe('secret.y')));
        assert.equal(err.message, `'Permissions Violation for Subscription to "secret.y"'`);
        return true;
      });
      const ev = await st.waitFor((s) => s.type === Events.Error, 3000, 'error status');
      assert.deepEqual(ev.permissionContext, { operation: 'subscription', subject: 'secret.y', queue: undefined });
      assert.equal(denied.isClosed(), true);

      const ok = recorder(nc, 'visible');
      await nc.flush();
      admin.publish('secret.y', sc.encode('s'));
      admin.publish('visible', sc.encode('v'));
      await admin.flush();
      await ok.waitFor(1);
      await settle(nc);
      assert.deepEqual(ok.msgs.map((m) => sc.decode(m.data)), ['v']);
      assert.equal(nc.isClosed(), false);
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('queue subscribe to a denied subject names the queue in the error', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      const errors = [];
      const sub = nc.subscribe('hidden', { queue: 'workers', callback: (err) => err && errors.push(err) });
      await within(sub.closed, 3000, 'denied queue subscription closes');
      assert.equal(errors.length, 1);
      assert.equal(errors[0].code, ErrorCode.PermissionsViolation);
      assert.equal(errors[0].message, clientMessage(permSubscribe('hidden', 'workers')));
      assert.equal(errors[0].message, `'Permissions Violation for Subscription to "hidden" using queue "workers"'`);
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('wildcard subscriptions overlapping denied subjects are accepted but never deliver them', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      const st = statusWatcher(nc);
      const all = recorder(nc, '>');
      const one = recorder(nc, '*');
      await nc.flush();
      for (const s of ['secret.a', 'pub.ok', 'hidden', 'secret.a.b', 'visible', 'hidden.not']) {
        admin.publish(s, sc.encode(s));
      }
      await admin.flush();
      await all.waitFor(3);
      await settle(nc);
      assert.deepEqual(all.msgs.map((m) => m.subject), ['pub.ok', 'visible', 'hidden.not']);
      assert.deepEqual(one.msgs.map((m) => m.subject), ['visible']);
      assert.deepEqual([...all.errors, ...one.errors], []);
      assert.deepEqual(st.events.filter((s) => s.type === Events.Error), []);
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('a wildcard subscription entirely inside a denied subject is itself denied', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'limited');
    try {
      const inside = recorder(nc, 'secret.*.*');
      await within(inside.sub.closed, 3000, 'secret.*.* subscription closes');
      assert.deepEqual(
        inside.errors.map((e) => e.message),
        [clientMessage(permSubscribe('secret.*.*'))],
      );
      admin.publish('secret.a.b', sc.encode('x'));
      await admin.flush();
      await settle(nc);
      assert.equal(inside.msgs.length, 0);
    } finally {
      await closeAll(nc, admin);
    }
  });
});

test('subscribe allow list with a deny inside it: deny wins, outside the allow list is denied', async () => {
  await withServer({ users }, async (srv) => {
    const [nc, admin] = await both(srv, 'subonly');
    try {
      const feed = recorder(nc, 'feed.>');
      const denied = [];
      const priv = nc.subscribe('feed.private', { callback: (err) => err && denied.push(err.message) });
      await within(priv.closed, 3000, 'feed.private subscription closes');
      const other = nc.subscribe('news', { callback: (err) => err && denied.push(err.message) });
      await within(other.closed, 3000, 'news subscription closes');
      assert.deepEqual(denied, [clientMessage(permSubscribe('feed.private')), clientMessage(permSubscribe('news'))]);

      for (const s of ['feed.public', 'feed.private', 'news', 'feed.a.b']) admin.publish(s, sc.encode(s));
      await admin.flush();
      await feed.waitFor(2);
      await settle(nc);
      assert.deepEqual(feed.msgs.map((m) => m.subject), ['feed.public', 'feed.a.b']);
    } finally {
      await closeAll(nc, admin);
    }
  });
});
