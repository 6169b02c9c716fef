// Small helpers shared by the conformance tests.
import { startServer } from './server.mjs';

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** How long a negative assertion ("nothing more arrives") waits after a flush. */
export const QUIET_MS = 150;

/** Starts a server, runs fn(server), always stops the server. */
export async function withServer(opts, fn) {
  const srv = await startServer(opts);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** Rejects with `what` if `p` does not settle within ms. */
export function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Closes every connection given, ignoring ones already closed. */
export async function closeAll(...conns) {
  for (const nc of conns) {
    if (nc && !nc.isClosed()) await nc.close().catch(() => {});
  }
}

/**
 * Subscribes with a callback and records messages. Returns
 * { sub, msgs, errors, waitFor(n, ms) } where waitFor resolves when at least n
 * messages have arrived.
 */
export function recorder(nc, subject, opts = {}) {
  const msgs = [];
  const errors = [];
  const waiters = [];
  const sub = nc.subscribe(subject, {
    ...opts,
    callback: (err, m) => {
      if (err) {
        errors.push(err);
        for (const w of waiters.splice(0)) w.reject(err);
        return;
      }
      msgs.push(m);
      for (const w of [...waiters]) {
        if (msgs.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(msgs);
        }
      }
    },
  });
  const waitFor = (n, ms = 3000) => {
    if (msgs.length >= n) return Promise.resolve(msgs);
    return within(
      new Promise((resolve, reject) => waiters.push({ n, resolve, reject })),
      ms,
      `${n} messages on ${subject} (got ${msgs.length})`,
    );
  };
  return { sub, msgs, errors, waitFor };
}

/** Flush round trip on every connection given, then a short quiet wait. */
export async function settle(...conns) {
  for (const nc of conns) await nc.flush();
  await delay(QUIET_MS);
}

/** Records nc.status() events; waitFor(pred, ms) resolves with the first match. */
export function statusWatcher(nc) {
  const events = [];
  const waiters = [];
  (async () => {
    for await (const s of nc.status()) {
      events.push(s);
      for (const w of [...waiters]) {
        if (w.pred(s)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(s);
        }
      }
    }
  })().catch(() => {});
  const waitFor = (pred, ms = 3000, what = 'status event') => {
    const hit = events.find(pred);
    if (hit) return Promise.resolve(hit);
    return within(new Promise((resolve) => waiters.push({ pred, resolve })), ms, what);
  };
  return { events, waitFor };
}
