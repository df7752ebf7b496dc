// A minimal relyd client in Node.js with nothing but the standard library (the `net` module): one connection,
// one JSON object per line each way, responses matched to requests by id (docs/PROTOCOL.md, "Writing a client").
'use strict';

const net = require('net');

class RelydError extends Error {
  constructor(code, description) {
    super(`${code}: ${description}`);
    this.code = code; // the daemon's stable code (unknown_site, ...) or connection_lost / timeout
  }
}

class RelydClient {
  constructor(socketPath, { timeoutMs = 30000 } = {}) {
    this.socketPath = socketPath;
    this.timeoutMs = timeoutMs;
    this.nextId = 1;
    this.waiting = new Map(); // id -> {resolve, reject, timer}
    this.buffer = '';
    this.socket = null;
  }

  connect() {
    if (this.socket) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      socket.setEncoding('utf8');
      let connected = false;
      socket.once('connect', () => { connected = true; this.socket = socket; resolve(); });
      socket.on('error', (error) => {
        if (!connected) reject(new RelydError('connection_failed', error.message));
        else this.failAll(new RelydError('connection_lost', error.message));
      });
      socket.on('data', (chunk) => this.receive(chunk));
      socket.on('close', () => this.failAll(new RelydError('connection_lost', 'relyd closed the connection')));
    });
  }

  // Sends one command; resolves with the response's data, rejects with a RelydError.
  async call(command, params = {}) {
    await this.connect();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RelydError('timeout', `no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.socket.write(JSON.stringify({ id, command, params }) + '\n');
    });
  }

  receive(chunk) {
    this.buffer += chunk;
    let end;
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      const response = JSON.parse(line);
      // A null id answers the oldest request (the daemon could not read its id); Map keeps insertion order.
      const id = response.id === null ? this.waiting.keys().next().value : response.id;
      const waiter = this.waiting.get(id);
      if (!waiter) continue; // its caller timed out
      this.waiting.delete(id);
      clearTimeout(waiter.timer);
      if (response.status === 'ok') waiter.resolve(response.data);
      else waiter.reject(new RelydError(response.data.error, response.data.error_description));
    }
  }

  failAll(error) {
    this.socket = null;
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
      this.waiting.delete(id);
    }
  }

  close() {
    if (this.socket) this.socket.end();
  }
}

module.exports = { RelydClient, RelydError };
