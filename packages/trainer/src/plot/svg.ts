import type { Scene } from "./scene.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const n = (v: number) => String(Math.round(v * 100) / 100);

/** Renders a scene as a standalone SVG document. */
export function renderSvg(scene: Scene): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="Helvetica, Arial, sans-serif">`,
  ];
  for (const s of scene.shapes) {
    switch (s.kind) {
      case "rect":
        out.push(`<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}" fill="${s.fill}"${s.stroke ? ` stroke="${s.stroke}"` : ""}/>`);
        break;
      case "line":
        out.push(`<line x1="${n(s.x1)}" y1="${n(s.y1)}" x2="${n(s.x2)}" y2="${n(s.y2)}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ' stroke-dasharray="6 4"' : ""}/>`);
        break;
      case "polyline":
        out.push(`<polyline points="${s.points.map(([x, y]) => `${n(x)},${n(y)}`).join(" ")}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ' stroke-dasharray="6 4"' : ""}/>`);
        break;
      case "circle":
        out.push(`<circle cx="${n(s.cx)}" cy="${n(s.cy)}" r="${s.r}" fill="${s.color}"/>`);
        break;
      case "text":
        out.push(`<text x="${n(s.x)}" y="${n(s.y)}" font-size="${s.size}" fill="${s.color}" text-anchor="${s.anchor}">${esc(s.text)}</text>`);
        break;
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
