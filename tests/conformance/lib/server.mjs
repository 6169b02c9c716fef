// Server launcher for the conformance suite.
//
// NATS_SERVER_KIND=nats-server (default) starts Debian's /usr/sbin/nats-server
// (override the path with NATS_SERVER_BIN); NATS_SERVER_KIND=keel starts
// `$KEEL_BIN bus ...`. Both listen on 127.0.0.1 and a free port only.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SERVER_KIND = process.env.NATS_SERVER_KIND || 'nats-server';
const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN || '/usr/sbin/nats-server';
const READY_DEADLINE_MS = 10_000;
const STOP_DEADLINE_MS = 5_000;

if (!['nats-server', 'keel'].includes(SERVER_KIND)) {
  throw new Error(`NATS_SERVER_KIND must be "nats-server" or "keel", not "${SERVER_KIND}"`);
}

// Every child we spawn, so a crashing test run never leaves one behind.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function durationString(seconds) {
  // nats-server wants a Go duration string; milliseconds keep fractions exact.
  return `${Math.round(seconds * 1000)}ms`;
}

function natsConfig(port, opts) {
  const lines = [`listen: "127.0.0.1:${port}"`];
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  if (opts.maxConnections !== undefined) lines.push(`max_connections: ${opts.maxConnections}`);
  if (opts.maxControlLine !== undefined) lines.push(`max_control_line: ${opts.maxControlLine}`);
  if (opts.maxPending !== undefined) {
    lines.push(`max_pending: ${opts.maxPending}`);
    // nats-server stalls a publisher feeding a slow consumer and cuts the
    // consumer at the write deadline (10 s by default); keep tests short.
    lines.push('write_deadline: "1s"');
  }
  if (opts.pingInterval !== undefined) lines.push(`ping_interval: "${durationString(opts.pingInterval)}"`);
  if (opts.maxPingsOut !== undefined) lines.push(`ping_max: ${opts.maxPingsOut}`);

  const users = opts.users || [];
  const auth = {};
  const tokens = users.filter((u) => u.token !== undefined);
  const named = users.filter((u) => u.token === undefined);
  if (tokens.length > 1 || (tokens.length === 1 && named.length > 0)) {
    throw new Error('nats-server supports a single token and no users next to it');
  }
  if (tokens.length === 1) {
    // nats-server accepts `permissions` next to a token but does not apply
    // them (checked on v2.9.10), so refuse rather than test nothing.
    if (tokens[0].permissions) throw new Error('nats-server does not apply permissions to token auth');
    auth.token = tokens[0].token;
  } else if (named.length > 0) {
    auth.users = named.map((u) => {
      const entry = { user: u.user, password: u.password };
      if (u.permissions) entry.permissions = u.permissions;
      return entry;
    });
  }
  if (opts.authTimeout !== undefined) auth.timeout = opts.authTimeout;
  if (Object.keys(auth).length > 0) lines.push(`authorization: ${JSON.stringify(auth)}`);
  return lines.join('\n') + '\n';
}

async function prepare(dir, port, opts) {
  if (SERVER_KIND === 'nats-server') {
    const conf = path.join(dir, 'server.conf');
    await writeFile(conf, natsConfig(port, opts));
    return { bin: NATS_SERVER_BIN, args: ['-c', conf] };
  }
  const bin = process.env.KEEL_BIN;
  if (!bin) throw new Error('NATS_SERVER_KIND=keel needs KEEL_BIN=/path/to/keel');
  const args = ['bus', '--listen', `127.0.0.1:${port}`, '--socket', path.join(dir, 'bus.sock')];
  if (opts.users && opts.users.length > 0) {
    const authFile = path.join(dir, 'auth.json');
    await writeFile(authFile, JSON.stringify({ users: opts.users }, null, 2));
    args.push('--auth', authFile);
  }
  const flags = [
    ['maxPayload', '--max-payload'],
    ['maxConnections', '--max-connections'],
    ['maxControlLine', '--max-control-line'],
    ['maxPending', '--max-pending'],
    ['authTimeout', '--auth-timeout'],
    ['pingInterval', '--ping-interval'],
    ['maxPingsOut', '--max-pings-out'],
  ];
  for (const [key, flag] of flags) {
    if (opts[key] !== undefined) args.push(flag, String(opts[key]));
  }
  return { bin, args };
}

// Connects, waits for the INFO line (the server has registered the client),
// half-closes and waits for the server to close its side, so a readiness
// probe is gone from the server's books before the test starts.
function probe(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(buf.includes('\n')), 1000);
    sock.on('error', () => finish(false));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) sock.end();
    });
    sock.on('close', () => finish(buf.includes('\n')));
  });
}

function spawnServer(bin, args, state) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  state.output = '';
  const keep = (d) => {
    state.output += d.toString();
    if (state.output.length > 64 * 1024) state.output = state.output.slice(-64 * 1024);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exitInfo = null;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      child.exitInfo = { code, signal };
      live.delete(child);
      resolve(child.exitInfo);
    });
    child.on('error', (err) => {
      child.exitInfo = { code: null, signal: null, error: err };
      live.delete(child);
      resolve(child.exitInfo);
    });
  });
  live.add(child);
  return child;
}

async function waitReady(child, port, state, cmdline) {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (child.exitInfo) {
      const how = child.exitInfo.error
        ? child.exitInfo.error.message
        : `code ${child.exitInfo.code} signal ${child.exitInfo.signal}`;
      throw new Error(`server exited before it was ready (${how}): ${cmdline}\n${state.output}`);
    }
    if (await probe(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // gone
  }
  throw new Error(`server not ready on 127.0.0.1:${port} within ${READY_DEADLINE_MS} ms: ${cmdline}\n${state.output}`);
}

async function stopChild(child, signal) {
  if (!child || child.exitInfo) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  let timer;
  const timeout = new Promise((r) => {
    timer = setTimeout(r, STOP_DEADLINE_MS, 'timeout');
  });
  const outcome = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await child.exited;
  }
}

/**
 * Starts a server. opts (all optional): users [{user, password, permissions}
 * | {token, permissions}], maxPayload, maxConnections, maxControlLine,
 * maxPending (bytes), authTimeout, pingInterval (seconds, fractions allowed),
 * maxPingsOut. Returns { url, port, pid, kind, dir, socket, stop(), restart(),
 * kill(), output() }.
 */
export async function startServer(opts = {}) {
  const port = opts.port ?? (await freePort());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'keel-conformance-'));
  const state = { output: '' };
  let child;
  try {
    const { bin, args } = await prepare(dir, port, opts);
    const cmdline = [bin, ...args].join(' ');
    const launch = async () => {
      child = spawnServer(bin, args, state);
      await waitReady(child, port, state, cmdline);
      handle.pid = child.pid;
    };
    const handle = {
      kind: SERVER_KIND,
      url: `nats://127.0.0.1:${port}`,
      port,
      dir,
      /** keel only: the unix socket `keel bus --socket` listens on. */
      socket: SERVER_KIND === 'keel' ? path.join(dir, 'bus.sock') : undefined,
      pid: undefined,
      output: () => state.output,
      /** Graceful stop (SIGTERM) and removal of the temp dir; idempotent. */
      async stop() {
        await stopChild(child, 'SIGTERM');
        await rm(dir, { recursive: true, force: true });
      },
      /** Stops the server and starts it again on the same port. */
      async restart() {
        await stopChild(child, 'SIGTERM');
        await launch();
      },
      /** SIGKILL; the temp dir stays so restart() still works. */
      async kill() {
        await stopChild(child, 'SIGKILL');
      },
    };
    await launch();
    return handle;
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
