// Client reconnect after a server restart on the same port: subscriptions are
// re-established by the client and work again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec, Events } from 'nats';
import { withServer, recorder, closeAll, statusWatcher, within } from '../lib/util.mjs';

const sc = StringCodec();
const reconnectOpts = { reconnect: true, reconnectTimeWait: 50, reconnectJitter: 0, maxReconnectAttempts: -1 };

for (const how of ['restart', 'kill']) {
  test(`client resubscribes after the server ${how === 'kill' ? 'is SIGKILLed and started again' : 'restarts'}`, async () => {
    await withServer({}, async (srv) => {
      const nc = await connect({ servers: srv.url, ...reconnectOpts });
      let pub;
      try {
        const st = statusWatcher(nc);
        const r = recorder(nc, 'rc.subj');
        const wild = recorder(nc, 'rc.*', { queue: 'g' });
        nc.publish('rc.subj', sc.encode('before'));
        await r.waitFor(1);
        await wild.waitFor(1);

        const oldId = nc.info.server_id;
        const oldPid = srv.pid;
        if (how === 'kill') {
          await srv.kill();
        }
        await srv.restart();
        assert.notEqual(srv.pid, oldPid);

        await st.waitFor((s) => s.type === Events.Disconnect, 5000, 'disconnect event');
        await st.waitFor((s) => s.type === Events.Reconnect, 5000, 'reconnect event');
        await within(nc.flush(), 2000, 'flush after reconnect');
        if (srv.kind === 'nats-server') assert.notEqual(nc.info.server_id, oldId);

        pub = await connect({ servers: srv.url });
        pub.publish('rc.subj', sc.encode('after'));
        await pub.flush();
        await r.waitFor(2);
        await wild.waitFor(2);
        assert.deepEqual(r.msgs.map((m) => sc.decode(m.data)), ['before', 'after']);
        assert.deepEqual(wild.msgs.map((m) => sc.decode(m.data)), ['before', 'after']);
        assert.equal(nc.isClosed(), false);
      } finally {
        await closeAll(nc, pub);
      }
    });
  });
}
