import { describe, expect, it } from "vitest";
import { Progress } from "./progress.js";

const info = (step: number) => ({ step, totalSteps: 10, fraction: step / 10, loss: 9.87654, lr: 5e-4, tokensPerSec: 12345, mfu: 0.412, etaSeconds: 75, epoch: 0 });

describe("progress", () => {
  it("draws a redrawn bar on a TTY, with loss, tokens/s, MFU and ETA", () => {
    let out = "";
    const p = new Progress({ write: (s: string) => ((out += s), true), isTTY: true, columns: 120 }, { bar: true, interval: 5, enabled: true });
    p.update(info(3));
    expect(out).toMatch(/^\r\x1b\[K\[#+\.+\]  30% step 3\/10 ep 0 loss 9\.8765 lr 5\.00e-4 12\.3k tok\/s mfu 41\.2% eta 01:15$/);
    p.log("[eval] step 3");
    expect(out.endsWith("\r\x1b[K[eval] step 3\n")).toBe(true);
  });

  it("prints plain lines every `interval` steps when not a TTY", () => {
    const lines: string[] = [];
    const p = new Progress({ write: (s: string) => lines.push(s) > 0, isTTY: false }, { bar: true, interval: 5, enabled: true });
    for (let s = 1; s <= 10; s++) p.update(info(s));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe("[train] step 5/10 ep 0 loss 9.8765 lr 5.00e-4 12.3k tok/s mfu 41.2% eta 01:15\n");
  });
});
