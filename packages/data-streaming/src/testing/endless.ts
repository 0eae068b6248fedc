import type { ServerResponse } from "node:http";

/** Bytes an endless answer stops at if its client never does (1.5 GB: far past any bound a test checks). */
const CAP = 1.5e9;

/**
 * A server that never stops sending: answers 200 with `byte` repeated, as fast as the client reads, until the
 * client hangs up (or CAP). `count.sent` is what was written so far, for a test to check how early the reader
 * stopped it.
 */
export function sendEndless(res: ServerResponse, byte: number, count: { sent: number }): void {
  res.writeHead(200);
  const chunk = Buffer.alloc(1 << 16, byte);
  const pump = (): void => {
    while (count.sent < CAP && res.write(chunk)) count.sent += chunk.length;
    if (count.sent < CAP) res.once("drain", pump);
    else res.end();
  };
  pump();
}
