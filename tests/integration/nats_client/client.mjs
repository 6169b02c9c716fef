// A real NATS client for the integration tests (nats.js, the official client).
//   node client.mjs URL watch SUBJECT...    one JSON line per message: {subject, data, headers};
//                                           "READY" once subscribed (after a flush)
//   node client.mjs URL request SUBJECT DATA   prints the reply's data
// It reconnects forever, so a test can restart the bus under it.
import { connect, StringCodec } from "nats";

const [url, mode, ...rest] = process.argv.slice(2);
const sc = StringCodec();
const nc = await connect({
  servers: url, name: "it-nats-js", reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 50,
});

if (mode === "watch") {
  for (const subject of rest) {
    const sub = nc.subscribe(subject);
    (async () => {
      for await (const m of sub) {
        const headers = {};
        if (m.headers) for (const [k, v] of m.headers) headers[k] = v;
        process.stdout.write(JSON.stringify({ subject: m.subject, data: sc.decode(m.data), headers }) + "\n");
      }
    })();
  }
  await nc.flush();
  process.stdout.write("READY\n");
  (async () => {
    for await (const s of nc.status()) process.stderr.write(`status ${s.type}\n`);
  })();
  process.on("SIGTERM", async () => {
    await nc.close();
    process.exit(0);
  });
} else if (mode === "request") {
  const [subject, data] = rest;
  const m = await nc.request(subject, sc.encode(data ?? ""), { timeout: 5000 });
  process.stdout.write(sc.decode(m.data) + "\n");
  await nc.close();
} else {
  process.stderr.write("usage: client.mjs URL watch|request ...\n");
  process.exit(2);
}
