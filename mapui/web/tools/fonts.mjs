// fonts.mjs ships the glyphs the app uses from Noto Sans SC (SIL Open Font License 1.1, npm
// @fontsource/noto-sans-sc), built at every `npm run build` from npm packages alone:
//   - for the page: WOFF2 subsets (harfbuzz through subset-font) and fonts.css with their
//     @font-face rules, one per Fontsource slice that holds a character the app uses;
//   - for MapLibre's labels: glyph PBFs (signed distance fields, 24 px, 3 px buffer, radius 8,
//     as MapLibre and fontnik make them) under fonts/{FONTSTACK}/{start}-{end}.pbf. fontnik, the
//     usual tool, builds a native addon that downloads binaries; here the outlines come from
//     fontkit and the distance field is computed from them in JS.
// The characters are GB2312's (its 6,763 hanzi and its symbols: the names an administrator gives
// zones and places at runtime), those of the app's sources, the base map's names, the district's
// zone names (the Go sources of geofence/ and sim/), plate prefixes, ASCII and Latin-1.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as fontkit from 'fontkit';
import { PbfWriter as Pbf } from 'pbf';
import subsetFont from 'subset-font';

const require = createRequire(import.meta.url);

export const FAMILY = 'BW Noto Sans SC';
export const FONTSTACK = 'NotoSansSC-Regular';

// The provinces' one-character plate prefixes (and the special plates'): any plate may pass.
const PLATE_CHARS = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领警学挂港澳临';

async function* files(dir, ext) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist' && !e.name.startsWith('.')) yield* files(p, ext);
    } else if (ext.some((x) => e.name.endsWith(x)) && !e.name.endsWith('_test.go')) yield p;
  }
}

/**
 * GB2312's characters, decoded from its byte pairs by the runtime's own GBK decoder (WHATWG
 * Encoding, offline): rows 0xA1–0xA9 are its symbols, 0xB0–0xD7 the 3,755 hanzi of level 1 and
 * 0xD8–0xF7 the 3,008 of level 2.
 */
export function gb2312Chars() {
  const gbk = new TextDecoder('gbk');
  let out = '';
  for (let row = 0xa1; row <= 0xf7; row++) {
    if (row >= 0xaa && row <= 0xaf) continue; // unassigned in GB2312
    for (let cell = 0xa1; cell <= 0xfe; cell++) {
      const ch = gbk.decode(new Uint8Array([row, cell]));
      const cp = ch.codePointAt(0);
      if (ch !== '\ufffd' && cp >= 0x80 && !(cp >= 0xe000 && cp <= 0xf8ff)) out += ch; // not GBK's private-use cells
    }
  }
  return out;
}

/** The code points the app can show: GB2312, its sources, the base map and the district. */
export async function appCodePoints(webDir) {
  const repo = join(webDir, '../..');
  const text = [PLATE_CHARS, gb2312Chars()];
  for (let c = 0x20; c <= 0x7e; c++) text.push(String.fromCodePoint(c));
  for (let c = 0xa0; c <= 0xff; c++) text.push(String.fromCodePoint(c));
  const sources = [[join(webDir, 'src'), ['.ts', '.css']], [join(webDir, 'data'), ['.json']], [join(repo, 'geofence'), ['.go', '.geojson']], [join(repo, 'sim'), ['.go']]];
  for (const [dir, ext] of sources) for await (const f of files(dir, ext)) text.push(await readFile(f, 'utf8'));
  text.push(await readFile(join(webDir, 'index.html'), 'utf8'));
  const cps = new Set();
  for (const s of text) for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (cp >= 0x20 && !(cp >= 0xd800 && cp <= 0xdfff)) cps.add(cp);
  }
  return [...cps].sort((a, b) => a - b);
}

/** Fontsource's slices of the 400 weight: file and the code points it covers. */
async function slices() {
  const dir = require.resolve('@fontsource/noto-sans-sc/400.css').replace(/400\.css$/, '');
  const css = await readFile(dir + '400.css', 'utf8');
  const out = [];
  for (const m of css.matchAll(/url\(\.\/files\/([^)]+\.woff2)\)[^}]*?unicode-range:\s*([^;]+);/g)) {
    const ranges = m[2].split(',').map((r) => {
      const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
      return [parseInt(a, 16), parseInt(b ?? a, 16)];
    });
    out.push({ file: dir + 'files/' + m[1], has: (cp) => ranges.some(([a, b]) => cp >= a && cp <= b) });
  }
  return out;
}

const hex = (cp) => 'U+' + cp.toString(16).toUpperCase();

/** Writes fonts.css, the WOFF2 subsets and the glyph PBFs under outDir; returns figures. */
export async function buildFonts(webDir, outDir) {
  const cps = await appCodePoints(webDir);
  const bySlice = new Map();
  for (const s of await slices()) bySlice.set(s, []);
  for (const cp of cps) {
    const s = [...bySlice.keys()].find((x) => x.has(cp));
    if (s) bySlice.get(s).push(cp);
  }
  await mkdir(join(outDir, FONTSTACK), { recursive: true });
  const rules = [];
  const glyphs = new Map(); // code point -> {font, glyph}
  let woff2Bytes = 0;
  let n = 0;
  for (const [slice, list] of bySlice) {
    if (!list.length) continue;
    const buf = await readFile(slice.file);
    const font = fontkit.create(buf);
    const present = list.filter((cp) => cp === 0x20 || font.glyphForCodePoint(cp).id !== 0);
    if (!present.length) continue;
    const sub = await subsetFont(buf, String.fromCodePoint(...present), { targetFormat: 'woff2' });
    const name = `sc-${n++}.woff2`;
    await writeFile(join(outDir, name), sub);
    woff2Bytes += sub.length;
    rules.push(`@font-face{font-family:'${FAMILY}';font-style:normal;font-weight:400;font-display:block;` +
      `src:url(${name}) format('woff2');unicode-range:${present.map(hex).join(',')}}`);
    for (const cp of present) if (!glyphs.has(cp)) glyphs.set(cp, { font, glyph: font.glyphForCodePoint(cp) });
  }
  await writeFile(join(outDir, 'fonts.css'), rules.join('\n') + '\n');

  const ranges = new Map();
  for (const [cp, g] of glyphs) {
    const start = cp - (cp % 256);
    if (!ranges.has(start)) ranges.set(start, []);
    ranges.get(start).push({ id: cp, ...sdfGlyph(g.font, g.glyph) });
  }
  let pbfBytes = 0;
  for (const [start, list] of ranges) {
    const pbf = new Pbf();
    pbf.writeMessage(1, writeStack, { name: FONTSTACK, range: `${start}-${start + 255}`, glyphs: list });
    const bytes = pbf.finish();
    pbfBytes += bytes.length;
    await writeFile(join(outDir, FONTSTACK, `${start}-${start + 255}.pbf`), bytes);
  }
  return { codePoints: glyphs.size, woff2Files: rules.length, woff2Bytes, pbfFiles: ranges.size, pbfBytes };
}

function writeStack(s, pbf) {
  pbf.writeStringField(1, s.name);
  pbf.writeStringField(2, s.range);
  for (const g of s.glyphs) pbf.writeMessage(3, writeGlyph, g);
}

function writeGlyph(g, pbf) {
  pbf.writeVarintField(1, g.id);
  if (g.bitmap.length) pbf.writeBytesField(2, g.bitmap);
  pbf.writeVarintField(3, g.width);
  pbf.writeVarintField(4, g.height);
  pbf.writeSVarintField(5, g.left);
  pbf.writeSVarintField(6, g.top);
  pbf.writeVarintField(7, g.advance);
}

const SIZE = 24;
const BUFFER = 3;
const RADIUS = 8;
const CUTOFF = 0.25;

/**
 * One glyph as MapLibre reads it: metrics in pixels at 24 px and, for a glyph with ink, a
 * (width+6)×(height+6) bitmap whose byte is 255 − 255·(d/8 + 0.25) for the signed distance d
 * (pixels, negative inside) from the pixel's centre to the outline: the edge is at 191.
 */
export function sdfGlyph(font, glyph) {
  const scale = SIZE / font.unitsPerEm;
  const advance = Math.round(glyph.advanceWidth * scale);
  const segs = outline(glyph.path.commands, scale);
  if (!segs.length) return { bitmap: new Uint8Array(0), width: 0, height: 0, left: 0, top: 0, advance };
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x0, y0] of segs) {
    minX = Math.min(minX, x0);
    maxX = Math.max(maxX, x0);
    minY = Math.min(minY, y0);
    maxY = Math.max(maxY, y0);
  }
  const left = Math.floor(minX);
  const top = Math.ceil(maxY);
  const width = Math.ceil(maxX) - left;
  const height = top - Math.floor(minY);
  const w = width + 2 * BUFFER;
  const hgt = height + 2 * BUFFER;
  const bitmap = new Uint8Array(w * hgt);
  // A pixel's byte is 0 or 255 once the outline is REACH px away, so a row measures its distance
  // to the segments within REACH of it and counts the winding over the segments crossing it:
  // the same bytes as measuring every segment, in a fraction of the time (GB2312's 7,500 glyphs).
  const REACH = RADIUS * (1 - CUTOFF) + 1;
  const near = [];
  for (let row = 0; row < hgt; row++) {
    const py = top + BUFFER - row - 0.5; // font units up, pixel rows down
    near.length = 0;
    let winds = 0;
    for (const sg of segs) {
      const [, y0, , y1] = sg;
      if (Math.min(y0, y1) - REACH <= py && py <= Math.max(y0, y1) + REACH) near.push(sg);
      if (y0 <= py ? y1 > py : y1 <= py) winds++;
    }
    const crossing = winds ? segs.filter(([, y0, , y1]) => (y0 <= py ? y1 > py : y1 <= py)) : [];
    for (let col = 0; col < w; col++) {
      const px = left - BUFFER + col + 0.5;
      let best = REACH * REACH;
      for (const [x0, y0, x1, y1] of near) {
        if (px < Math.min(x0, x1) - REACH || px > Math.max(x0, x1) + REACH) continue;
        const dx = x1 - x0;
        const dy = y1 - y0;
        const len2 = dx * dx + dy * dy;
        const t = len2 ? Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2)) : 0;
        const ex = x0 + t * dx - px;
        const ey = y0 + t * dy - py;
        best = Math.min(best, ex * ex + ey * ey);
      }
      let winding = 0;
      for (const [x0, y0, x1, y1] of crossing) {
        const cross = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0);
        if (y1 > y0 ? cross > 0 : cross < 0) winding += y1 > y0 ? 1 : -1;
      }
      const d = winding !== 0 ? -Math.sqrt(best) : Math.sqrt(best);
      bitmap[row * w + col] = Math.max(0, Math.min(255, Math.round(255 - 255 * (d / RADIUS + CUTOFF))));
    }
  }
  const ascender = Math.round(font.ascent * scale);
  return { bitmap, width, height, left, top: top - ascender, advance };
}

/** The glyph's outline as straight segments [x0, y0, x1, y1] in pixels, y up; curves in 8 steps. */
function outline(commands, scale) {
  const segs = [];
  let [sx, sy, x, y] = [0, 0, 0, 0];
  const to = (nx, ny) => {
    if (nx !== x || ny !== y) segs.push([x, y, nx, ny]);
    [x, y] = [nx, ny];
  };
  for (const { command, args } of commands) {
    const a = args.map((v) => v * scale);
    if (command === 'moveTo') {
      if (x !== sx || y !== sy) to(sx, sy);
      [sx, sy, x, y] = [a[0], a[1], a[0], a[1]];
    } else if (command === 'lineTo') to(a[0], a[1]);
    else if (command === 'quadraticCurveTo') {
      const [x0, y0] = [x, y];
      for (let i = 1; i <= 8; i++) {
        const t = i / 8;
        const u = 1 - t;
        to(u * u * x0 + 2 * u * t * a[0] + t * t * a[2], u * u * y0 + 2 * u * t * a[1] + t * t * a[3]);
      }
    } else if (command === 'bezierCurveTo') {
      const [x0, y0] = [x, y];
      for (let i = 1; i <= 8; i++) {
        const t = i / 8;
        const u = 1 - t;
        to(u ** 3 * x0 + 3 * u * u * t * a[0] + 3 * u * t * t * a[2] + t ** 3 * a[4],
          u ** 3 * y0 + 3 * u * u * t * a[1] + 3 * u * t * t * a[3] + t ** 3 * a[5]);
      }
    } else if (command === 'closePath') to(sx, sy);
  }
  if (x !== sx || y !== sy) to(sx, sy);
  return segs;
}
