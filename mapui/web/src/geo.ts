// Small planar geometry for counters and sorting; the server's geofence engine
// is authoritative, this only decides what the wall shows.

export type LonLat = [number, number];

const R = 6371008.8;
const rad = Math.PI / 180;

/** Great-circle distance in metres. */
export function haversine(a: LonLat, b: LonLat): number {
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export type BBox = [number, number, number, number];

export function bboxOf(coords: unknown, pad = 0): BBox {
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c: any) => {
    if (typeof c[0] === 'number') {
      if (c[0] < b[0]) b[0] = c[0];
      if (c[1] < b[1]) b[1] = c[1];
      if (c[0] > b[2]) b[2] = c[0];
      if (c[1] > b[3]) b[3] = c[1];
    } else for (const x of c) walk(x);
  };
  walk(coords);
  return [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad];
}

export function inBBox(p: LonLat, b: BBox): boolean {
  return p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3];
}

function inRing(p: LonLat, ring: LonLat[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function inPolygon(p: LonLat, geom: GeoJSON.Geometry): boolean {
  const poly = (rings: LonLat[][]) => inRing(p, rings[0]) && !rings.slice(1).some((h) => inRing(p, h));
  if (geom.type === 'Polygon') return poly(geom.coordinates as LonLat[][]);
  if (geom.type === 'MultiPolygon') return (geom.coordinates as LonLat[][][]).some(poly);
  return false;
}

/** Distance in metres from p to a polyline, on a local equirectangular projection. */
export function distanceToLine(p: LonLat, line: LonLat[]): number {
  const kx = Math.cos(p[1] * rad) * rad * R;
  const ky = rad * R;
  let best = Infinity;
  for (let i = 1; i < line.length; i++) {
    const ax = (line[i - 1][0] - p[0]) * kx;
    const ay = (line[i - 1][1] - p[1]) * ky;
    const bx = (line[i][0] - p[0]) * kx;
    const by = (line[i][1] - p[1]) * ky;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const u = len2 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2)) : 0;
    const d = Math.hypot(ax + u * dx, ay + u * dy);
    if (d < best) best = d;
  }
  return best;
}

export function lines(geom: GeoJSON.Geometry): LonLat[][] {
  if (geom.type === 'LineString') return [geom.coordinates as LonLat[]];
  if (geom.type === 'MultiLineString') return geom.coordinates as LonLat[][];
  return [];
}

export function centroid(geom: GeoJSON.Geometry): LonLat {
  const b = bboxOf((geom as GeoJSON.Polygon).coordinates);
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}
