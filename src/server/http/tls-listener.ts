// The server's HTTPS listener (issue 17, mTLS). One port: a connection whose first byte starts a TLS
// handshake goes to the HTTPS server; anything else (plain HTTP to an HTTPS port) gets a plain 400
// saying to use https://, instead of a reset the user cannot read. Client certificates are asked for
// but not required at the handshake: users and the join bootstrap come with tokens only; dispatch
// (principal.ts) reads the verified certificate of an agent.

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import net from "node:net";
import { ErrorCodes } from "../../model/index.ts";

/** What the HTTPS server presents and trusts: its certificate (then the CA's, so clients can pin it by hash), its key, the CA. */
export interface ServerTls {
  certPem: string;
  keyPem: string;
  /** Every CA client certificates may come from (during a CA rotation, the old and the new one). */
  caPem: string;
  /** The CA sent after the certificate (its issuer). @default caPem */
  chainPem?: string;
}

/** The first byte of a TLS record carrying a handshake. */
const TlsHandshake = 0x16;

/** A net.Server that serves `handler` over TLS and refuses plain HTTP with a readable 400. */
export function createTlsListener(tls: ServerTls, handler: (req: IncomingMessage, res: ServerResponse) => void, httpOpts: https.ServerOptions = {}): { net: net.Server; https: https.Server } {
  const server = https.createServer({ ...httpOpts, cert: `${tls.certPem.trim()}\n${(tls.chainPem ?? tls.caPem).trim()}\n`, key: tls.keyPem, ca: tls.caPem, requestCert: true, rejectUnauthorized: false }, handler);
  const body = JSON.stringify({
    error: {
      code: ErrorCodes.BadRequest,
      message: "this server speaks HTTPS only: a plain HTTP request was sent to it",
      hint: "use the https:// address and pin the cluster CA (`tiffin context add --ca-hash`, `tiffin agent --ca-hash`)",
    },
  });
  // Every raw connection, to end them at close: a TLS socket made over a raw one that was paused and
  // given its first bytes back is not the raw socket, and destroying it (closeAllConnections) left the
  // raw one open until the client dropped it: a server's close waited 63 s on a peer server's kept-alive
  // connection (servers-e2e.test.ts).
  const raw = new Set<net.Socket>();
  const outer = net.createServer((socket) => {
    raw.add(socket);
    socket.once("close", () => raw.delete(socket));
    socket.on("error", () => undefined);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === TlsHandshake) {
        server.emit("connection", socket);
        return;
      }
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
  // Closing the outer listener must end kept-alive TLS connections too.
  const close = outer.close.bind(outer);
  outer.close = (cb?: (err?: Error) => void) => {
    server.closeAllConnections();
    for (const socket of raw) socket.destroy();
    return close(cb);
  };
  return { net: outer, https: server };
}

/** Whether `host` (a listen address, "" or undefined for every interface) is loopback only. */
export function isLoopback(host: string | undefined): boolean {
  if (host === undefined || host === "") return false;
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}
