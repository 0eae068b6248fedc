import { shown } from "../text.js";

/** Minimal progress bars for a terminal stream (stderr): one line per file, redrawn in place on a TTY. */
export interface ProgressPrinter {
  update(file: string, done: number, total: number, label?: string): void;
  finish(): void;
}

function human(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function createProgressPrinter(stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  const tty = Boolean(stream.isTTY);
  let current = "";
  let lastPct = -1;
  const line = (file: string, done: number, total: number, label: string) => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24;
    const fill = Math.round(frac * width);
    return `${label} ${shown(file, 120)} [${"#".repeat(fill)}${".".repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done)}/${human(total)}`;
  };
  return {
    update(file, done, total, label = "") {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (file !== current) {
        if (current && tty) stream.write("\n");
        current = file;
        lastPct = -1;
      }
      if (tty) stream.write(`\r${line(file, done, total, label)}\x1b[K`);
      else if (pct === 100 && lastPct !== 100) stream.write(`${line(file, done, total, label)}\n`);
      lastPct = pct;
    },
    finish() {
      if (current && tty) stream.write("\n");
      current = "";
    },
  };
}
