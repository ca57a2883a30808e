/**
 * A tiny SMTP server for tests, on 127.0.0.1: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA
 * (with dot-unstuffing), RSET, NOOP, QUIT. It keeps every accepted message in memory.
 *
 *   const sink = await startSmtpSink({ user: 'mailer', password: 'secret' });
 *   ... smtp://mailer:secret@127.0.0.1:${sink.port} ...
 *   const mail = await sink.waitForMessage((m) => m.to.includes('a@example.com'));
 *   await sink.close();
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface SinkMessage {
  from: string;
  to: string[];
  /** The message text as received (CRLF line ends, dots unstuffed). */
  data: string;
  /** The user that authenticated, if any. */
  user: string | null;
}

export interface SmtpSinkOptions {
  /** Listen on this port (default: any free one). */
  port?: number;
  /** When set, AUTH is offered and these credentials are required before MAIL. */
  user?: string;
  password?: string;
  /** Recipients answered `550` (a permanent refusal). */
  rejectRecipients?: (address: string) => boolean;
}

export interface SmtpSink {
  port: number;
  messages: SinkMessage[];
  /** Resolves with the first message (already received or still to come) matching `match`. */
  waitForMessage(match: (m: SinkMessage) => boolean): Promise<SinkMessage>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const waiters: Array<{ match: (m: SinkMessage) => boolean; resolve: (m: SinkMessage) => void }> =
    [];
  const sockets = new Set<Socket>();
  const needsAuth = options.user !== undefined;

  const accept = (message: SinkMessage) => {
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.match(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let user: string | null = null;
    let from: string | null = null;
    let to: string[] = [];
    let dataLines: string[] | null = null;
    let auth: 'plain' | 'login-user' | 'login-password' | null = null;
    let loginUser = '';
    const reply = (line: string) => socket.write(`${line}\r\n`);
    const checkCredentials = (name: string, password: string) => {
      if (name === options.user && password === options.password) {
        user = name;
        reply('235 2.7.0 authenticated');
      } else {
        reply('535 5.7.8 bad credentials');
      }
    };
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

    const onLine = (line: string) => {
      if (dataLines) {
        if (line === '.') {
          accept({ from: from ?? '', to, data: `${dataLines.join('\r\n')}\r\n`, user });
          dataLines = null;
          from = null;
          to = [];
          reply('250 2.0.0 queued');
        } else {
          dataLines.push(line.startsWith('..') ? line.slice(1) : line);
        }
        return;
      }
      if (auth === 'plain') {
        auth = null;
        const [, name, password] = decode(line).split('\0');
        checkCredentials(name ?? '', password ?? '');
        return;
      }
      if (auth === 'login-user') {
        loginUser = decode(line);
        auth = 'login-password';
        reply(`334 ${Buffer.from('Password:').toString('base64')}`);
        return;
      }
      if (auth === 'login-password') {
        auth = null;
        checkCredentials(loginUser, decode(line));
        return;
      }
      const [verb = '', ...rest] = line.split(' ');
      const argument = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          socket.write(
            [
              '250-sink.test',
              ...(needsAuth ? ['250-AUTH PLAIN LOGIN'] : []),
              '250-8BITMIME',
              '250 SIZE 10485760',
            ].join('\r\n') + '\r\n',
          );
          return;
        case 'HELO':
          reply('250 sink.test');
          return;
        case 'AUTH': {
          const [mechanism = '', initial] = argument.split(' ');
          if (mechanism.toUpperCase() === 'PLAIN') {
            if (initial) {
              const [, name, password] = decode(initial).split('\0');
              checkCredentials(name ?? '', password ?? '');
            } else {
              auth = 'plain';
              reply('334 ');
            }
          } else if (mechanism.toUpperCase() === 'LOGIN') {
            auth = 'login-user';
            reply(`334 ${Buffer.from('Username:').toString('base64')}`);
          } else {
            reply('504 5.5.4 unrecognised authentication type');
          }
          return;
        }
        case 'MAIL': {
          if (needsAuth && user === null) {
            reply('530 5.7.0 authentication required');
            return;
          }
          from = /<([^>]*)>/.exec(argument)?.[1] ?? '';
          to = [];
          reply('250 2.1.0 ok');
          return;
        }
        case 'RCPT': {
          const address = /<([^>]*)>/.exec(argument)?.[1] ?? '';
          if (from === null) reply('503 5.5.1 MAIL first');
          else if (options.rejectRecipients?.(address)) reply('550 5.1.1 no such mailbox');
          else {
            to.push(address);
            reply('250 2.1.5 ok');
          }
          return;
        }
        case 'DATA':
          if (to.length === 0) {
            reply('503 5.5.1 RCPT first');
            return;
          }
          dataLines = [];
          reply('354 end data with <CR><LF>.<CR><LF>');
          return;
        case 'RSET':
          from = null;
          to = [];
          reply('250 2.0.0 ok');
          return;
        case 'NOOP':
          reply('250 2.0.0 ok');
          return;
        case 'QUIT':
          reply('221 2.0.0 bye');
          socket.end();
          return;
        default:
          reply('502 5.5.2 command not recognised');
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let at: number;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        onLine(line);
      }
    });
    reply('220 sink.test ESMTP test sink');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    messages,
    waitForMessage: (match) => {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (taken, then released). */
export async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
