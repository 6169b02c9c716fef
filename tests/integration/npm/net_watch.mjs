// Subscribes to net.> with the official nats.js client and prints every message
// as one JSON line {subject, data}; prints {"ready": true} once subscribed.
//   node net_watch.mjs nats://127.0.0.1:PORT
import { connect, StringCodec } from "nats";

const nc = await connect({ servers: process.argv[2], name: "net-watch" });
const sc = StringCodec();
const sub = nc.subscribe("net.>");
await nc.flush();
console.log(JSON.stringify({ ready: true }));
for await (const m of sub) {
  let data;
  try { data = JSON.parse(sc.decode(m.data)); } catch { data = sc.decode(m.data); }
  console.log(JSON.stringify({ subject: m.subject, data }));
}
