// node watch.mjs SERVER SUBJECT...: subscribes with the official NATS client and
// prints "READY" once the subscriptions are in place (after a flush), then one
// JSON line per message: {"subject": ..., "data": <parsed JSON or the text>}.
// Runs until killed.
import { connect, StringCodec } from 'nats';

const [server, ...subjects] = process.argv.slice(2);
const sc = StringCodec();
const nc = await connect({ servers: server, name: 'keel-test-watch', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
for (const subject of subjects) {
  nc.subscribe(subject, {
    callback: (err, m) => {
      if (err) {
        process.stderr.write(`watch: ${err.message}\n`);
        return;
      }
      const text = sc.decode(m.data);
      let data = text;
      try { data = JSON.parse(text); } catch { /* plain text */ }
      process.stdout.write(JSON.stringify({ subject: m.subject, data }) + '\n');
    },
  });
}
await nc.flush();
process.stdout.write('READY\n');
process.on('SIGTERM', () => nc.close().then(() => process.exit(0)));
