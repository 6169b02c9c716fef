// Raw TCP client for byte-level protocol tests.
import net from 'node:net';

export const CRLF = '\r\n';

export class RawClient {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0); // everything received, never trimmed
    this.pos = 0; // how much of buf the test has consumed
    this.closed = false; // the server closed (or reset) the connection
    this.error = null;
    this.info = null;
    this.infoLine = null;
    this.waiters = new Set();
    this.closedPromise = new Promise((resolve) => {
      sock.on('close', () => {
        this.closed = true;
        resolve();
        this.#wake();
      });
    });
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#wake();
    });
    sock.on('error', (err) => {
      this.error = err;
    });
  }

  #wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Everything received so far, as a latin1 string (one char per byte). */
  get all() {
    return this.buf.toString('latin1');
  }

  /** Received bytes not yet consumed by read*() calls. */
  get pending() {
    return this.buf.subarray(this.pos).toString('latin1');
  }

  /**
   * Waits until `test(pendingText)` returns a number n >= 0 (bytes to
   * consume), the connection closes, or the timeout passes. Resolves with the
   * consumed text; rejects on close/timeout with what was received.
   */
  #waitFor(test, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const n = test(this.pending);
        if (n >= 0) {
          const text = this.buf.subarray(this.pos, this.pos + n).toString('latin1');
          this.pos += n;
          done();
          resolve(text);
          return;
        }
        if (this.closed) {
          done();
          reject(new Error(`connection closed while waiting for ${what}; pending ${JSON.stringify(this.pending)}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${timeoutMs} ms) waiting for ${what}; pending ${JSON.stringify(this.pending)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Next line including its terminator ("\r\n" or "\n"). */
  readLine(timeoutMs = 2000) {
    return this.#waitFor((p) => {
      const i = p.indexOf('\n');
      return i < 0 ? -1 : i + 1;
    }, timeoutMs, 'a line');
  }

  /** Exactly n bytes. */
  readBytes(n, timeoutMs = 2000) {
    return this.#waitFor((p) => (p.length >= n ? n : -1), timeoutMs, `${n} bytes`);
  }

  /** Everything up to and including the first occurrence of `s`. */
  readUntil(s, timeoutMs = 2000) {
    return this.#waitFor((p) => {
      const i = p.indexOf(s);
      return i < 0 ? -1 : i + s.length;
    }, timeoutMs, JSON.stringify(s));
  }

  /** Sends a string (latin1, byte per char) or a Buffer. */
  send(data) {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((resolve, reject) => {
      this.sock.write(b, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Collects everything not yet consumed until the server closes the
   * connection or `timeoutMs` passes. Resolves { data, closed }.
   */
  async collect(timeoutMs = 1000) {
    let timer;
    await Promise.race([
      this.closedPromise,
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const data = this.pending;
    this.pos = this.buf.length;
    return { data, closed: this.closed };
  }

  /** Sends PING and reads up to and including the PONG reply; returns text read. */
  async ping(timeoutMs = 2000) {
    await this.send('PING\r\n');
    return this.readUntil('PONG\r\n', timeoutMs);
  }

  /** Closes our side (idempotent). */
  close() {
    this.sock.destroy();
  }
}

/**
 * Connects to 127.0.0.1:port. Unless readInfo is false, reads the first line,
 * checks it is INFO and parses its JSON into client.info.
 */
export async function rawConnect(port, { readInfo = true, timeoutMs = 2000 } = {}) {
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const c = new RawClient(sock);
  if (readInfo) {
    const line = await c.readLine(timeoutMs);
    c.infoLine = line;
    if (!line.startsWith('INFO ') || !line.endsWith('\r\n')) {
      c.close();
      throw new Error(`expected INFO line, got ${JSON.stringify(line)}`);
    }
    c.info = JSON.parse(line.slice(5, -2));
  }
  return c;
}

/** Connects, reads INFO, sends CONNECT with `connectOpts` + PING, waits for PONG. */
export async function rawSession(port, connectOpts = {}) {
  const c = await rawConnect(port);
  await c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connectOpts })}\r\nPING\r\n`);
  const got = await c.readUntil('PONG\r\n');
  if (got !== 'PONG\r\n') {
    c.close();
    throw new Error(`expected PONG after CONNECT, got ${JSON.stringify(got)}`);
  }
  return c;
}
