// Byte-level authentication and permission errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, delay } from '../lib/util.mjs';
import { rawConnect, rawSession } from '../lib/raw.mjs';
import { ERR, permPublish, permSubscribe } from './golden-errors.mjs';

const users = [{ user: 'alice', password: 's3cret' }];
const QUIET = { verbose: false, pedantic: false };

test('with users configured INFO has auth_required:true', async () => {
  await withServer({ users }, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      assert.equal(c.info.auth_required, true);
    } finally {
      c.close();
    }
  });
});

test('commands before CONNECT when auth is required: -ERR \'Authorization Violation\' and close', async () => {
  await withServer({ users }, async (srv) => {
    for (const send of ['PING\r\n', 'SUB foo 1\r\n', 'PUB foo 1\r\nx\r\n']) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(send);
        assert.deepEqual(await c.collect(2000), { data: ERR.authorizationViolation, closed: true }, JSON.stringify(send));
      } finally {
        c.close();
      }
    }
  });
});

test('CONNECT with bad credentials: -ERR \'Authorization Violation\' and close', async () => {
  await withServer({ users }, async (srv) => {
    for (const creds of [
      { user: 'alice', pass: 'wrong' },
      { user: 'bob', pass: 's3cret' },
      { user: 'alice' },
      {},
      { auth_token: 's3cret' },
    ]) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(`CONNECT ${JSON.stringify({ ...QUIET, ...creds })}\r\nPING\r\n`);
        assert.deepEqual(await c.collect(2000), { data: ERR.authorizationViolation, closed: true }, JSON.stringify(creds));
      } finally {
        c.close();
      }
    }
  });
});

test('CONNECT with the right password: +OK (verbose) and PONG', async () => {
  await withServer({ users }, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('CONNECT {"verbose":true,"user":"alice","pass":"s3cret"}\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), '+OK\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('token auth on the wire', async () => {
  await withServer({ users: [{ token: 'tok-3141' }] }, async (srv) => {
    const good = await rawConnect(srv.port);
    const bad = await rawConnect(srv.port);
    try {
      assert.equal(good.info.auth_required, true);
      await good.send('CONNECT {"verbose":false,"auth_token":"tok-3141"}\r\nPING\r\n');
      assert.equal(await good.readLine(), 'PONG\r\n');
      await bad.send('CONNECT {"verbose":false,"auth_token":"nope"}\r\nPING\r\n');
      assert.deepEqual(await bad.collect(2000), { data: ERR.authorizationViolation, closed: true });
    } finally {
      good.close();
      bad.close();
    }
  });
});

test('silent client is dropped after auth timeout with -ERR \'Authentication Timeout\'', async () => {
  await withServer({ users, authTimeout: 0.5 }, async (srv) => {
    const t0 = Date.now();
    const c = await rawConnect(srv.port);
    try {
      const r = await c.collect(5000);
      const took = Date.now() - t0;
      assert.deepEqual(r, { data: ERR.authenticationTimeout, closed: true });
      assert.ok(took >= 400 && took < 2500, `timed out after ${took} ms, configured 500 ms`);
    } finally {
      c.close();
    }
  });
});

test('auth timeout does not hit a client that authenticated in time', async () => {
  await withServer({ users, authTimeout: 0.3 }, async (srv) => {
    const c = await rawSession(srv.port, { ...QUIET, user: 'alice', pass: 's3cret' });
    try {
      await delay(700);
      assert.equal(c.closed, false);
      assert.equal(await c.ping(), 'PONG\r\n');
    } finally {
      c.close();
    }
  });
});

const permUsers = [
  {
    user: 'limited',
    password: 'p',
    permissions: {
      publish: { allow: ['pub.>', 'secret.>'], deny: ['secret.x'] },
      subscribe: { allow: ['>'], deny: ['secret.>'] },
    },
  },
  { user: 'admin', password: 'p' },
];

test('permission violations on the wire, byte exact; the connection stays open', async () => {
  await withServer({ users: permUsers }, async (srv) => {
    const c = await rawSession(srv.port, { ...QUIET, headers: true, user: 'limited', pass: 'p' });
    try {
      const steps = [
        ['PUB secret.x 2\r\nhi\r\n', permPublish('secret.x')],
        ['PUB elsewhere 2\r\nhi\r\n', permPublish('elsewhere')],
        ['HPUB secret.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n', permPublish('secret.x')],
        ['SUB secret.y 1\r\n', permSubscribe('secret.y')],
        ['SUB secret.y workers 2\r\n', permSubscribe('secret.y', 'workers')],
        ['SUB secret.> 3\r\n', permSubscribe('secret.>')],
        ['SUB > 4\r\n', ''],
        ['PUB pub.ok 2\r\nok\r\n', 'MSG pub.ok 4 2\r\nok\r\n'],
        ['PUB secret.y 2\r\nsy\r\n', ''], // allowed publish, but sid 4 may not receive secret.*
      ];
      for (const [send, expect] of steps) {
        await c.send(send + 'PING\r\n');
        assert.equal(await c.readUntil('PONG\r\n'), expect + 'PONG\r\n', JSON.stringify(send));
      }
      assert.equal(c.closed, false);
    } finally {
      c.close();
    }
  });
});

test('denied subjects are filtered from wildcard subscriptions on the wire', async () => {
  await withServer({ users: permUsers }, async (srv) => {
    const sub = await rawSession(srv.port, { ...QUIET, user: 'limited', pass: 'p' });
    const pub = await rawSession(srv.port, { ...QUIET, user: 'admin', pass: 'p' });
    try {
      await sub.send('SUB > 1\r\nSUB *.* 2\r\nPING\r\n');
      assert.equal(await sub.readUntil('PONG\r\n'), 'PONG\r\n');
      await pub.send('PUB secret.a 1\r\na\r\nPUB open.b 1\r\nb\r\nPUB secret.c.d 1\r\nc\r\nPING\r\n');
      assert.equal(await pub.readUntil('PONG\r\n'), 'PONG\r\n');
      await sub.send('PING\r\n');
      assert.equal(await sub.readUntil('PONG\r\n'), 'MSG open.b 1 1\r\nb\r\nMSG open.b 2 1\r\nb\r\nPONG\r\n');
    } finally {
      sub.close();
      pub.close();
    }
  });
});
