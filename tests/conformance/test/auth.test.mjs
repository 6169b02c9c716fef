// User/password and token authentication through nats.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec, ErrorCode } from 'nats';
import { withServer, recorder, closeAll } from '../lib/util.mjs';
import { ERR, clientMessage } from './golden-errors.mjs';

const sc = StringCodec();
const users = [
  { user: 'alice', password: 's3cret' },
  { user: 'bob', password: 'hunter2' },
];

function rejectsWithAuthViolation(p) {
  return assert.rejects(p, (err) => {
    assert.equal(err.code, ErrorCode.AuthorizationViolation);
    assert.equal(err.code, 'AUTHORIZATION_VIOLATION');
    assert.equal(err.message, clientMessage(ERR.authorizationViolation));
    return true;
  });
}

test('INFO says auth_required when users are configured', async () => {
  await withServer({ users }, async (srv) => {
    const nc = await connect({ servers: srv.url, user: 'alice', pass: 's3cret' });
    try {
      assert.equal(nc.info.auth_required, true);
    } finally {
      await closeAll(nc);
    }
  });
});

test('right user/password connects and can pub/sub', async () => {
  await withServer({ users }, async (srv) => {
    const a = await connect({ servers: srv.url, user: 'alice', pass: 's3cret' });
    const b = await connect({ servers: srv.url, user: 'bob', pass: 'hunter2' });
    try {
      const r = recorder(a, 'auth.ok');
      await a.flush();
      b.publish('auth.ok', sc.encode('hi alice'));
      const [m] = await r.waitFor(1);
      assert.equal(sc.decode(m.data), 'hi alice');
    } finally {
      await closeAll(a, b);
    }
  });
});

test('wrong password, unknown user, another user\'s password and no credentials are rejected', async () => {
  await withServer({ users }, async (srv) => {
    await rejectsWithAuthViolation(connect({ servers: srv.url, user: 'alice', pass: 'wrong', reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, user: 'mallory', pass: 's3cret', reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, user: 'alice', pass: 'hunter2', reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, token: 's3cret', reconnect: false }));
  });
});

test('token auth: right token works, wrong or missing token is rejected', async () => {
  await withServer({ users: [{ token: 'tok-3141' }] }, async (srv) => {
    const nc = await connect({ servers: srv.url, token: 'tok-3141' });
    try {
      assert.equal(nc.info.auth_required, true);
      const r = recorder(nc, 'tok.ok');
      nc.publish('tok.ok', sc.encode('t'));
      const [m] = await r.waitFor(1);
      assert.equal(sc.decode(m.data), 't');
    } finally {
      await closeAll(nc);
    }
    await rejectsWithAuthViolation(connect({ servers: srv.url, token: 'tok-2718', reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, reconnect: false }));
    await rejectsWithAuthViolation(connect({ servers: srv.url, user: 'tok-3141', pass: 'x', reconnect: false }));
  });
});

test('no auth configured: INFO has no auth_required and any credentials are accepted', async () => {
  await withServer({}, async (srv) => {
    const nc = await connect({ servers: srv.url, user: 'whoever', pass: 'whatever' });
    try {
      assert.ok(!nc.info.auth_required, 'auth_required absent or false');
      await nc.flush();
    } finally {
      await closeAll(nc);
    }
  });
});
