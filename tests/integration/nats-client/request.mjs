// node request.mjs SERVER SUBJECT DATA: one request with the official NATS client;
// prints the reply's data. Exit 1 on timeout or no responders.
import { connect, StringCodec } from 'nats';

const [server, subject, data = ''] = process.argv.slice(2);
const sc = StringCodec();
const nc = await connect({ servers: server, name: 'keel-test-request' });
try {
  const m = await nc.request(subject, sc.encode(data), { timeout: 5000 });
  process.stdout.write(sc.decode(m.data) + '\n');
  await nc.close();
} catch (e) {
  process.stderr.write(`request: ${e.message}\n`);
  await nc.close();
  process.exit(1);
}
