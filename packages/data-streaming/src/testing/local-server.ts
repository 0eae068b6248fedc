// The part every local test server shares: an HTTP server on 127.0.0.1 at a free port, a handler whose
// failures become a response, and a close that drops open connections (a stalled client included).
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export abstract class LocalServer {
  /** http://127.0.0.1:PORT once started. */
  url = "";
  private readonly server = http.createServer((req, res) => {
    this.handle(req, res).catch((e: Error) => this.fail(res, e));
  });

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  /** Answers a request whose handler threw. */
  protected abstract fail(res: http.ServerResponse, e: Error): void;

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
