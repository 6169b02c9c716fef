// Byte-level client protocol: INFO, CONNECT, PING/PONG, verbose +OK, MSG
// framing, subject validation and how the server treats malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from '../lib/util.mjs';
import { rawConnect, rawSession } from '../lib/raw.mjs';
import { ERR } from './golden-errors.mjs';

const QUIET = { verbose: false, pedantic: false };

test('INFO line: "INFO {json} \\r\\n" with the required fields', async () => {
  await withServer({}, async (srv) => {
    const a = await rawConnect(srv.port);
    const b = await rawConnect(srv.port);
    try {
      // nats-server ends the INFO line with a space before CRLF
      assert.match(a.infoLine, /^INFO \{[^\r\n]*\} \r\n$/);
      const info = a.info;
      assert.equal(typeof info.server_id, 'string');
      assert.ok(info.server_id.length > 0);
      assert.equal(typeof info.version, 'string');
      assert.ok(info.version.length > 0);
      assert.equal(info.proto, 1);
      assert.equal(info.headers, true);
      assert.equal(info.max_payload, 1048576);
      assert.equal(info.host, '127.0.0.1');
      assert.equal(info.port, srv.port);
      assert.ok(Number.isInteger(info.client_id) && info.client_id > 0, `client_id ${info.client_id}`);
      assert.ok(!info.auth_required, 'no auth_required without users');
      assert.notEqual(b.info.client_id, a.info.client_id, 'each connection has its own client_id');
      assert.equal(b.info.server_id, a.info.server_id);
      // nothing else is sent before the client speaks
      assert.equal(a.pending, '');
    } finally {
      a.close();
      b.close();
    }
  });
});

test('CONNECT verbose: +OK after CONNECT, SUB, PUB, UNSUB; none after PING', async () => {
  await withServer({}, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('CONNECT {"verbose":true}\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), '+OK\r\nPONG\r\n');
      await c.send('SUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), '+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('CONNECT {} defaults verbose and pedantic to true', async () => {
  await withServer({}, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('CONNECT {}\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), '+OK\r\nPONG\r\n');
      await c.send('SUB foo 1\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), '+OK\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('CONNECT verbose:false: silent SUB/PUB/UNSUB', async () => {
  await withServer({}, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPUB foo 2\r\nho\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('PING/PONG: uppercase, lowercase, LF-only, before CONNECT; PONG from client is accepted', async () => {
  await withServer({}, async (srv) => {
    const c = await rawConnect(srv.port);
    try {
      await c.send('PING\r\n');
      assert.equal(await c.readLine(), 'PONG\r\n', 'PING before CONNECT (no auth configured)');
      await c.send('CONNECT {"verbose":false}\r\n');
      await c.send('ping\r\n');
      assert.equal(await c.readLine(), 'PONG\r\n');
      await c.send('PING\n');
      assert.equal(await c.readLine(), 'PONG\r\n');
      await c.send('PONG\r\nPING\r\nPING\r\n');
      assert.equal(await c.readBytes(12), 'PONG\r\nPONG\r\n');
      assert.equal((await c.collect(150)).data, '');
      assert.equal(c.closed, false);
    } finally {
      c.close();
    }
  });
});

test('MSG framing: reply subject, queue group, alphanumeric sid, CRLF inside payload, empty payload', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send('SUB a 1\r\nPUB a reply.to 2\r\nhi\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG a 1 reply.to 2\r\nhi\r\nPONG\r\n');
      await c.send('SUB b grp 7\r\nPUB b 2\r\nyo\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG b 7 2\r\nyo\r\nPONG\r\n');
      await c.send('SUB c abc\r\nPUB c 1\r\nz\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG c abc 1\r\nz\r\nPONG\r\n');
      await c.send('SUB d 9\r\nPUB d 4\r\n\r\n\r\n\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG d 9 4\r\n\r\n\r\n\r\nPONG\r\n');
      await c.send('PUB d 0\r\n\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG d 9 0\r\n\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('parser: lowercase verbs, tabs and repeated spaces, commands split across writes', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send('sub foo 1\r\npub foo 2\r\nhi\r\nping\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
      await c.send('SUB\tbar\t2\r\nPUB  bar   2\r\nho\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG bar 2 2\r\nho\r\nPONG\r\n');
      for (const piece of ['SUB ba', 'z 3\r', '\nPU', 'B baz', ' 5\r\nhe', 'llo', '\r', '\nPI', 'NG\r\n']) {
        await c.send(piece);
      }
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG baz 3 5\r\nhello\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('UNSUB sid max: auto-unsubscribe after max messages; UNSUB of an unknown sid is ignored', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send('SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n');
      await c.send('PUB foo 1\r\nd\r\nUNSUB 99\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'PONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('SUB with a sid already in use is ignored (first subscription stays)', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      await c.send('SUB foo 1\r\nSUB bar 1\r\nPUB foo 1\r\na\r\nPUB bar 1\r\nb\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo 1 1\r\na\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('unknown operations get -ERR \'Unknown Protocol Operation\' and close', async () => {
  await withServer({}, async (srv) => {
    const cases = [
      { name: 'garbage before CONNECT', connect: false, send: 'xxx\r\n' },
      { name: 'garbage after CONNECT', connect: true, send: 'xxx\r\n' },
      { name: 'MSG from a client', connect: true, send: 'MSG foo 1 1\r\nx\r\n' },
      { name: 'empty line', connect: true, send: '\r\n' },
      { name: 'bare PUB', connect: true, send: 'PUB\r\n' },
      { name: 'bare SUB', connect: true, send: 'SUB\r\n' },
      { name: 'bare UNSUB', connect: true, send: 'UNSUB\r\n' },
      { name: 'payload longer than announced', connect: true, send: 'PUB foo 2\r\nhello\r\n' },
      { name: 'payload without trailing CRLF', connect: true, send: 'PUB foo 0\r\nPING\r\n' },
    ];
    for (const k of cases) {
      const c = k.connect ? await rawSession(srv.port, QUIET) : await rawConnect(srv.port);
      try {
        await c.send(k.send);
        assert.deepEqual(await c.collect(2000), { data: ERR.unknownOperation, closed: true }, k.name);
      } finally {
        c.close();
      }
    }
  });
});

test('malformed arguments close the connection without any -ERR', async () => {
  await withServer({}, async (srv) => {
    const cases = [
      { name: 'PUB size not a number', send: 'PUB foo bar\r\n' },
      { name: 'PUB negative size', send: 'PUB foo -1\r\n' },
      { name: 'PUB too many args', send: 'PUB foo bar baz\r\n' },
      { name: 'PUB with only a space', send: 'PUB \r\n' },
      { name: 'SUB without sid', send: 'SUB foo\r\n' },
      { name: 'SUB too many args', send: 'SUB a b c d\r\n' },
      { name: 'SUB with only a space', send: 'SUB \r\n' },
      { name: 'UNSUB with only a space', send: 'UNSUB \r\n' },
      { name: 'HPUB header size larger than total', send: 'HPUB foo 20 12\r\n' },
      { name: 'HPUB missing total size', send: 'HPUB foo 12\r\n' },
      { name: 'CONNECT with bad JSON after a good CONNECT', send: 'CONNECT {bad json\r\n' },
    ];
    for (const k of cases) {
      const c = await rawSession(srv.port, { ...QUIET, headers: true });
      try {
        await c.send(k.send);
        assert.deepEqual(await c.collect(2000), { data: '', closed: true }, k.name);
      } finally {
        c.close();
      }
    }
    for (const send of ['CONNECT {bad json\r\n', 'CONNECT\r\n']) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(send);
        assert.deepEqual(await c.collect(2000), { data: '', closed: true }, JSON.stringify(send));
      } finally {
        c.close();
      }
    }
  });
});

test('HPUB from a client that did not announce headers closes without -ERR', async () => {
  await withServer({}, async (srv) => {
    for (const opts of [QUIET, { ...QUIET, headers: false }]) {
      const c = await rawSession(srv.port, opts);
      try {
        await c.send('HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n');
        assert.deepEqual(await c.collect(2000), { data: '', closed: true });
      } finally {
        c.close();
      }
    }
  });
});

test('SUB with an invalid subject: -ERR \'Invalid Subject\', connection stays open', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, QUIET);
    try {
      for (const subj of ['foo..bar', 'foo.', '.foo', 'foo.>.bar']) {
        await c.send(`SUB ${subj} 1\r\nPING\r\n`);
        assert.equal(await c.readUntil('PONG\r\n'), ERR.invalidSubject + 'PONG\r\n', subj);
      }
      // the rejected subscriptions did not take sid 1
      await c.send('SUB ok 1\r\nPUB ok 1\r\nx\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG ok 1 1\r\nx\r\nPONG\r\n');
      assert.equal(c.closed, false);
    } finally {
      c.close();
    }
  });
});

test('wildcard characters inside a token are literal', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, { verbose: false, pedantic: true });
    try {
      await c.send('SUB foo.b*r 1\r\nSUB foo.bar> 2\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'PONG\r\n');
      await c.send('PUB foo.bxr 1\r\na\r\nPUB foo.b*r 1\r\nb\r\nPUB foo.bar.x 1\r\nc\r\nPUB foo.bar> 1\r\nd\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo.b*r 1 1\r\nb\r\nMSG foo.bar> 2 1\r\nd\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

// Both servers tell pedantic clients -ERR 'Invalid Publish Subject' and keep the
// connection open; subjects with empty tokens reach nobody. They differ, on
// purpose, for wildcard tokens in a published subject: nats-server 2.9 still
// routes such a message, matching '*' and '>' as ordinary tokens, so a publish
// to "foo.*" lands on "foo.*" and ">" subscribers; keel bus never routes a
// subject a subscriber could not have meant (docs/bus.md, "Differences").
test('PUB to a wildcard or malformed subject: pedantic -ERR \'Invalid Publish Subject\', never delivered to literal subscribers', async () => {
  await withServer({}, async (srv) => {
    const routesWildcards = srv.kind === 'nats-server';
    for (const pedantic of [true, false]) {
      const c = await rawSession(srv.port, { verbose: false, pedantic });
      const err = pedantic ? ERR.invalidPublishSubject : '';
      try {
        await c.send('SUB > 1\r\nSUB foo.* 2\r\nSUB * 3\r\nPING\r\n');
        assert.equal(await c.readUntil('PONG\r\n'), 'PONG\r\n');
        const expected = {
          'foo.*': routesWildcards ? 'MSG foo.* 1 1\r\nx\r\nMSG foo.* 2 1\r\nx\r\n' : '',
          'foo.>': routesWildcards ? 'MSG foo.> 1 1\r\nx\r\nMSG foo.> 2 1\r\nx\r\n' : '',
          '>': routesWildcards ? 'MSG > 1 1\r\nx\r\nMSG > 3 1\r\nx\r\n' : '',
          '*': routesWildcards ? 'MSG * 1 1\r\nx\r\nMSG * 3 1\r\nx\r\n' : '',
          'foo..bar': '',
          '.foo': '',
          'foo.': '',
        };
        for (const [subj, msgs] of Object.entries(expected)) {
          await c.send(`PUB ${subj} 1\r\nx\r\nPING\r\n`);
          assert.equal(await c.readUntil('PONG\r\n'), err + msgs + 'PONG\r\n', `pedantic=${pedantic} ${subj}`);
        }
        await c.send('PUB fine 1\r\ny\r\nPING\r\n');
        assert.equal(await c.readUntil('PONG\r\n'), 'MSG fine 1 1\r\ny\r\nMSG fine 3 1\r\ny\r\nPONG\r\n');
        assert.equal(c.closed, false);
      } finally {
        c.close();
      }
    }
  });
});

test('CONNECT no_responders without headers: -ERR \'no responders requires headers support\' and close', async () => {
  await withServer({}, async (srv) => {
    for (const connect of ['{"no_responders":true,"headers":false}', '{"no_responders":true}']) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(`CONNECT ${connect}\r\nPING\r\n`);
        assert.deepEqual(await c.collect(2000), { data: ERR.noRespondersNeedsHeaders, closed: true }, connect);
      } finally {
        c.close();
      }
    }
  });
});

test('CONNECT protocol other than 0 or 1: -ERR \'invalid client protocol\' and close', async () => {
  await withServer({}, async (srv) => {
    for (const proto of [5, 2, -1]) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(`CONNECT {"protocol":${proto}}\r\nPING\r\n`);
        assert.deepEqual(await c.collect(2000), { data: ERR.invalidClientProtocol, closed: true }, `protocol ${proto}`);
      } finally {
        c.close();
      }
    }
    for (const proto of [0, 1]) {
      const c = await rawConnect(srv.port);
      try {
        await c.send(`CONNECT {"protocol":${proto},"verbose":false}\r\nPING\r\n`);
        assert.equal(await c.readLine(), 'PONG\r\n', `protocol ${proto}`);
      } finally {
        c.close();
      }
    }
  });
});
