// Draws the demo's app icons (www/icons/*.png) with node built-ins only:
// the pixels are computed here, 4x4 supersampled, and written as PNG
// (zlib deflate, CRC-32 per chunk). The output is committed; run this again
// after changing the drawing:  node scripts/gen-icons.mjs
// The same picture as www/icons/icon.svg: a database cylinder on navy.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const NAVY = [0x1d, 0x2b, 0x3a];
const TEAL = [0x3c, 0xcf, 0x91];
const LIGHT = [0x8f, 0xe8, 0xc0];

const inEllipse = (x, y, cx, cy, rx, ry) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

/** Colour [r, g, b, a] at (x, y) in the unit square. */
function shade(x, y, maskable) {
  // Background: full bleed for the maskable icon (the platform cuts its own
  // shape), a rounded square otherwise.
  if (!maskable) {
    const r = 0.18;
    const dx = Math.max(r - x, x - (1 - r), 0);
    const dy = Math.max(r - y, y - (1 - r), 0);
    if (dx * dx + dy * dy > r * r) return [0, 0, 0, 0];
  }
  // Cylinder: within a radius of 0.36 of the centre, inside the maskable
  // safe zone (a circle of radius 0.4).
  const cx = 0.5, rx = 0.2, ry = 0.07, top = 0.29, bottom = 0.71;
  if (inEllipse(x, y, cx, top, rx, ry)) return [...LIGHT, 255];
  const body = (Math.abs(x - cx) <= rx && y >= top && y <= bottom) || inEllipse(x, y, cx, bottom, rx, ry);
  if (body) {
    // Two bands: the lower edges of ellipses at a third and two thirds.
    for (const band of [top + (bottom - top) / 3, top + (2 * (bottom - top)) / 3]) {
      const e = ((x - cx) / rx) ** 2;
      if (e <= 1 && Math.abs(y - (band + ry * Math.sqrt(1 - e))) < 0.012) return [...NAVY, 255];
    }
    return [...TEAL, 255];
  }
  return [...NAVY, 255];
}

function render(size, maskable) {
  const ss = 4;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, maskable);
          // Premultiplied, so transparent samples do not darken the edge.
          for (let i = 0; i < 3; i++) acc[i] += (c[i] * c[3]) / 255;
          acc[3] += c[3];
        }
      }
      const o = py * (size * 4 + 1) + 1 + px * 4;
      const a = acc[3] / (ss * ss);
      for (let i = 0; i < 3; i++) raw[o + i] = a ? Math.round((acc[i] / (ss * ss)) * (255 / a)) : 0;
      raw[o + 3] = Math.round(a);
    }
  }
  return png(size, size, raw);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(width, height, raw) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = (f) => fileURLToPath(new URL(`../www/icons/${f}`, import.meta.url));
for (const [file, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['maskable-512.png', 512, true],
  ['apple-touch-icon.png', 180, true], // iOS rounds the corners itself
]) {
  writeFileSync(out(file), render(size, maskable));
  console.log(`www/icons/${file} ${size}x${size}`);
}
