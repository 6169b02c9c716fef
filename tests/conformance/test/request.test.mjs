// Request/reply through nats.js: responders, sequential and concurrent
// requests, old-style (noMux) requests and the no-responders status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec, ErrorCode } from 'nats';
import { withServer, closeAll } from '../lib/util.mjs';

const sc = StringCodec();

function echoResponder(nc, subject, opts = {}) {
  return nc.subscribe(subject, {
    ...opts,
    callback: (err, m) => {
      if (!err) m.respond(sc.encode(`echo:${sc.decode(m.data)}`));
    },
  });
}

test('request gets the responder reply', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      echoResponder(svc, 'svc.echo');
      await svc.flush();
      const m = await cli.request('svc.echo', sc.encode('ping'), { timeout: 2000 });
      assert.equal(sc.decode(m.data), 'echo:ping');
      assert.match(m.subject, /^_INBOX\./);
    } finally {
      await closeAll(svc, cli);
    }
  });
});

test('20 sequential requests all answered in turn', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      echoResponder(svc, 'svc.seq');
      await svc.flush();
      for (let i = 0; i < 20; i++) {
        const m = await cli.request('svc.seq', sc.encode(`n${i}`), { timeout: 2000 });
        assert.equal(sc.decode(m.data), `echo:n${i}`);
      }
    } finally {
      await closeAll(svc, cli);
    }
  });
});

test('50 concurrent requests each get their own answer', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      echoResponder(svc, 'svc.par');
      await svc.flush();
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => cli.request('svc.par', sc.encode(`c${i}`), { timeout: 3000 })),
      );
      assert.deepEqual(
        replies.map((m) => sc.decode(m.data)),
        Array.from({ length: 50 }, (_, i) => `echo:c${i}`),
      );
    } finally {
      await closeAll(svc, cli);
    }
  });
});

test('concurrent requests to a queue group of responders are all answered once', async () => {
  await withServer({}, async (srv) => {
    const svcs = await Promise.all([0, 1, 2].map(() => connect({ servers: srv.url })));
    const cli = await connect({ servers: srv.url });
    try {
      const served = [0, 0, 0];
      svcs.forEach((nc, k) =>
        nc.subscribe('svc.q', {
          queue: 'responders',
          callback: (err, m) => {
            served[k]++;
            m.respond(sc.encode(`${k}:${sc.decode(m.data)}`));
          },
        }),
      );
      for (const nc of svcs) await nc.flush();
      const replies = await Promise.all(
        Array.from({ length: 60 }, (_, i) => cli.request('svc.q', sc.encode(String(i)), { timeout: 3000 })),
      );
      replies.forEach((m, i) => assert.match(sc.decode(m.data), new RegExp(`^[012]:${i}$`)));
      assert.equal(served[0] + served[1] + served[2], 60);
    } finally {
      await closeAll(...svcs, cli);
    }
  });
});

test('old-style request (noMux) with its own inbox subscription', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      echoResponder(svc, 'svc.nomux');
      await svc.flush();
      const m = await cli.request('svc.nomux', sc.encode('old'), { timeout: 2000, noMux: true });
      assert.equal(sc.decode(m.data), 'echo:old');
    } finally {
      await closeAll(svc, cli);
    }
  });
});

test('request to a subject with no subscribers rejects fast with 503 no responders', async () => {
  await withServer({}, async (srv) => {
    const cli = await connect({ servers: srv.url });
    try {
      for (const noMux of [false, true]) {
        const t0 = Date.now();
        await assert.rejects(
          cli.request('nobody.home', sc.encode('?'), { timeout: 10_000, noMux }),
          (err) => {
            assert.equal(err.code, ErrorCode.NoResponders);
            assert.equal(err.code, '503');
            return true;
          },
        );
        const took = Date.now() - t0;
        assert.ok(took < 2000, `no-responders answer took ${took} ms (noMux=${noMux})`);
      }
      assert.equal(cli.isClosed(), false);
    } finally {
      await closeAll(cli);
    }
  });
});

test('a request with a subscriber that never answers times out (not 503)', async () => {
  await withServer({}, async (srv) => {
    const svc = await connect({ servers: srv.url });
    const cli = await connect({ servers: srv.url });
    try {
      svc.subscribe('svc.silent', { callback: () => {} });
      await svc.flush();
      await assert.rejects(cli.request('svc.silent', sc.encode('?'), { timeout: 300 }), (err) => {
        assert.equal(err.code, ErrorCode.Timeout);
        return true;
      });
    } finally {
      await closeAll(svc, cli);
    }
  });
});
