// Byte-level headers: HPUB/HMSG framing, stripping for clients without
// header support, and the no-responders status message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from '../lib/util.mjs';
import { rawSession } from '../lib/raw.mjs';

const QUIET = { verbose: false, pedantic: false };
const HDR = 'NATS/1.0\r\nA: b\r\n\r\n'; // 18 bytes

test('HPUB is delivered as HMSG with header and total sizes to a headers:true subscriber', async () => {
  await withServer({}, async (srv) => {
    const sub = await rawSession(srv.port, { ...QUIET, headers: true });
    const pub = await rawSession(srv.port, { ...QUIET, headers: true });
    try {
      assert.equal(HDR.length, 18);
      await sub.send('SUB foo 1\r\nSUB foo q 2\r\nPING\r\n');
      assert.equal(await sub.readUntil('PONG\r\n'), 'PONG\r\n');
      await pub.send(`HPUB foo 18 20\r\n${HDR}hi\r\nHPUB foo rep.ly 18 18\r\n${HDR}\r\nPING\r\n`);
      assert.equal(await pub.readUntil('PONG\r\n'), 'PONG\r\n');
      assert.equal(
        await sub.ping(),
        `HMSG foo 1 18 20\r\n${HDR}hi\r\n` +
          `HMSG foo 2 18 20\r\n${HDR}hi\r\n` +
          `HMSG foo 1 rep.ly 18 18\r\n${HDR}\r\n` +
          `HMSG foo 2 rep.ly 18 18\r\n${HDR}\r\n` +
          'PONG\r\n',
      );
    } finally {
      sub.close();
      pub.close();
    }
  });
});

test('headers are stripped for a subscriber that did not announce headers', async () => {
  await withServer({}, async (srv) => {
    const sub = await rawSession(srv.port, { ...QUIET, headers: false });
    const pub = await rawSession(srv.port, { ...QUIET, headers: true });
    try {
      await sub.send('SUB foo 1\r\nPING\r\n');
      assert.equal(await sub.readUntil('PONG\r\n'), 'PONG\r\n');
      await pub.send(`HPUB foo 18 20\r\n${HDR}hi\r\nHPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n`);
      assert.equal(await pub.readUntil('PONG\r\n'), 'PONG\r\n');
      assert.equal(await sub.ping(), 'MSG foo 1 2\r\nhi\r\nMSG foo 1 r 0\r\n\r\nPONG\r\n');
    } finally {
      sub.close();
      pub.close();
    }
  });
});

test('plain PUB reaches a headers:true subscriber as MSG, not HMSG', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, { ...QUIET, headers: true });
    try {
      await c.send('SUB foo 1\r\nPUB foo 2\r\nyo\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'MSG foo 1 2\r\nyo\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('no responders: request without subscribers gets an HMSG with status 503', async () => {
  await withServer({}, async (srv) => {
    const c = await rawSession(srv.port, { ...QUIET, headers: true, no_responders: true });
    try {
      await c.send('SUB _INBOX.x 1\r\nPUB req _INBOX.x 2\r\nhi\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n');
      // also for an HPUB request
      await c.send('HPUB req2 _INBOX.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n');
      assert.equal(await c.readUntil('PONG\r\n'), 'HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n');
    } finally {
      c.close();
    }
  });
});

test('no 503 without no_responders, without a reply subject, or when someone listens', async () => {
  await withServer({}, async (srv) => {
    const plain = await rawSession(srv.port, { ...QUIET, headers: true });
    const nr = await rawSession(srv.port, { ...QUIET, headers: true, no_responders: true });
    try {
      await plain.send('SUB _INBOX.y 1\r\nPUB req _INBOX.y 2\r\nhi\r\nPING\r\n');
      assert.equal(await plain.readUntil('PONG\r\n'), 'PONG\r\n');
      await nr.send('SUB _INBOX.z 1\r\nPUB req 2\r\nhi\r\nPING\r\n');
      assert.equal(await nr.readUntil('PONG\r\n'), 'PONG\r\n');
      await plain.send('SUB svc 5\r\nPING\r\n');
      assert.equal(await plain.readUntil('PONG\r\n'), 'PONG\r\n');
      await nr.send('PUB svc _INBOX.z 2\r\nhi\r\nPING\r\n');
      assert.equal(await nr.readUntil('PONG\r\n'), 'PONG\r\n');
      assert.equal(await plain.ping(), 'MSG svc 5 _INBOX.z 2\r\nhi\r\nPONG\r\n');
    } finally {
      plain.close();
      nr.close();
    }
  });
});
