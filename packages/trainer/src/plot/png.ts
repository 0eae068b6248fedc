import { crc32, deflateSync } from "node:zlib";
import { GLYPH_H, GLYPH_W, glyph } from "./font.js";
import type { Scene } from "./scene.js";

/**
 * A small rasteriser for scenes → PNG, with no native dependency (zlib is part of Node): lines
 * and polylines (round brushes along the segment), filled circles and rectangles, and text in the
 * 5×7 bitmap font (scaled ×2 from 18 px). Not anti-aliased; good enough for a chart to look at.
 */
class Canvas {
  readonly px: Uint8Array;
  constructor(readonly w: number, readonly h: number) {
    this.px = new Uint8Array(w * h * 3).fill(255);
  }

  set(x: number, y: number, rgb: [number, number, number]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = (y * this.w + x) * 3;
    this.px[i] = rgb[0];
    this.px[i + 1] = rgb[1];
    this.px[i + 2] = rgb[2];
  }

  disc(cx: number, cy: number, r: number, rgb: [number, number, number]): void {
    const rr = Math.max(0.5, r);
    for (let y = Math.floor(cy - rr); y <= Math.ceil(cy + rr); y++) {
      for (let x = Math.floor(cx - rr); x <= Math.ceil(cx + rr); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= rr * rr) this.set(x, y, rgb);
      }
    }
  }

  line(x1: number, y1: number, x2: number, y2: number, width: number, rgb: [number, number, number], dash: boolean, phase = 0): number {
    const len = Math.hypot(x2 - x1, y2 - y1);
    const n = Math.max(1, Math.ceil(len * 2));
    for (let i = 0; i <= n; i++) {
      const d = phase + (len * i) / n;
      if (dash && d % 10 >= 6) continue;
      const t = i / n;
      const x = x1 + (x2 - x1) * t;
      const y = y1 + (y2 - y1) * t;
      if (width <= 1) this.set(x, y, rgb);
      else this.disc(x, y, width / 2, rgb);
    }
    return phase + len;
  }

  text(x: number, y: number, s: string, size: number, anchor: "start" | "middle" | "end", rgb: [number, number, number]): void {
    const k = size >= 18 ? 2 : 1;
    const adv = (GLYPH_W + 1) * k;
    const width = s.length * adv - k;
    let left = anchor === "start" ? x : anchor === "middle" ? x - width / 2 : x - width;
    // SVG's y is the baseline; the glyph box sits above it.
    const top = Math.round(y - GLYPH_H * k);
    left = Math.round(left);
    for (const ch of s) {
      const bits = glyph(ch);
      for (let r = 0; r < GLYPH_H; r++) {
        for (let c = 0; c < GLYPH_W; c++) {
          if (!bits[r * GLYPH_W + c]) continue;
          for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) this.set(left + c * k + dx, top + r * k + dy, rgb);
        }
      }
      left += adv;
    }
  }
}

function rgbOf(color: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return null;
  const v = parseInt(m[1]!, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes RGB pixels as a PNG file (8-bit truecolor, filter 0 on every row). */
export function encodePng(w: number, h: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    Buffer.from(rgb.buffer, rgb.byteOffset + y * w * 3, w * 3).copy(raw, y * (w * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolor
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** Rasterises a scene and encodes it as PNG. */
export function renderPng(scene: Scene): Buffer {
  const cv = new Canvas(scene.width, scene.height);
  for (const s of scene.shapes) {
    switch (s.kind) {
      case "rect": {
        const fill = rgbOf(s.fill);
        if (fill) for (let y = s.y; y < s.y + s.h; y++) for (let x = s.x; x < s.x + s.w; x++) cv.set(x, y, fill);
        const st = s.stroke ? rgbOf(s.stroke) : null;
        if (st) {
          cv.line(s.x, s.y, s.x + s.w, s.y, 1, st, false);
          cv.line(s.x + s.w, s.y, s.x + s.w, s.y + s.h, 1, st, false);
          cv.line(s.x, s.y + s.h, s.x + s.w, s.y + s.h, 1, st, false);
          cv.line(s.x, s.y, s.x, s.y + s.h, 1, st, false);
        }
        break;
      }
      case "line":
        cv.line(s.x1, s.y1, s.x2, s.y2, s.width, rgbOf(s.color) ?? [0, 0, 0], s.dash ?? false);
        break;
      case "polyline": {
        let phase = 0;
        for (let i = 1; i < s.points.length; i++) {
          const [a, b] = [s.points[i - 1]!, s.points[i]!];
          phase = cv.line(a[0], a[1], b[0], b[1], s.width, rgbOf(s.color) ?? [0, 0, 0], s.dash ?? false, phase);
        }
        break;
      }
      case "circle":
        cv.disc(s.cx, s.cy, s.r, rgbOf(s.color) ?? [0, 0, 0]);
        break;
      case "text":
        cv.text(s.x, s.y, s.text, s.size, s.anchor, rgbOf(s.color) ?? [0, 0, 0]);
        break;
    }
  }
  return encodePng(scene.width, scene.height, cv.px);
}
