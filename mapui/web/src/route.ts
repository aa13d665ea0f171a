// The way to a targeted vehicle, offline: along the roads the system knows (the corridor zones'
// lines, and a roads layer of the base map if it has one), else the straight line. No routing
// service is reachable from the customs network, and the district's roads outside the corridors
// are not in the data; a truck to intercept is almost always on a corridor (that is where the
// rules watch it), so the corridors carry the route and the legs off them are drawn straight.
import { haversine, type LonLat } from './geo';

/** How the tablet travels: km/h on a known road, and across country or on unknown roads. */
export const ROAD_KMH = 60;
export const OFFROAD_KMH = 30;
/** Lines whose ends lie this close are joined (corridors meet at their port, drawn apart). */
const JOIN_M = 2000;
/** The route follows the network only if both ends are this close to it … */
const MAX_ACCESS_M = 15_000;
/** … and it is not more than this many times the straight line. */
const MAX_DETOUR = 3;

export interface Route {
  /** The way drawn, from the patrol to the vehicle. */
  coords: LonLat[];
  /** Metres along it, and of it on known roads. */
  metres: number;
  roadMetres: number;
  /** Minutes at ROAD_KMH on roads and OFFROAD_KMH off them. */
  minutes: number;
  /** True when no known road helps: the straight line. */
  straight: boolean;
}

interface Graph {
  pts: LonLat[];
  adj: Array<Array<[number, number]>>; // node → [neighbour, metres]
  segs: Array<[number, number]>;
}

/** The network of lines: their vertices joined along each line and where two lines' vertices meet. */
export function buildGraph(lines: LonLat[][]): Graph {
  const pts: LonLat[] = [];
  const adj: Array<Array<[number, number]>> = [];
  const segs: Array<[number, number]> = [];
  const link = (a: number, b: number) => {
    const d = haversine(pts[a], pts[b]);
    adj[a].push([b, d]);
    adj[b].push([a, d]);
  };
  const lineOf: number[] = [];
  lines.forEach((line, li) => {
    let prev = -1;
    for (const p of line) {
      const i = pts.push(p) - 1;
      adj.push([]);
      lineOf.push(li);
      if (prev >= 0) {
        link(prev, i);
        segs.push([prev, i]);
      }
      prev = i;
    }
  });
  // Join vertices of different lines within JOIN_M, found through a grid of ~2 km cells.
  const cell = (p: LonLat) => `${Math.floor(p[0] / 0.025)},${Math.floor(p[1] / 0.02)}`;
  const grid = new Map<string, number[]>();
  pts.forEach((p, i) => {
    const k = cell(p);
    grid.set(k, [...(grid.get(k) ?? []), i]);
  });
  pts.forEach((p, i) => {
    const [cx, cy] = [Math.floor(p[0] / 0.025), Math.floor(p[1] / 0.02)];
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
        if (j > i && lineOf[j] !== lineOf[i] && haversine(p, pts[j]) <= JOIN_M) link(i, j);
      }
    }
  });
  return { pts, adj, segs };
}

/** The nearest point of the network to p: the segment, how far along it (0–1), the point, metres away. */
function snap(g: Graph, p: LonLat): { seg: number; u: number; at: LonLat; d: number } | null {
  const kx = Math.cos((p[1] * Math.PI) / 180);
  let best: { seg: number; u: number; at: LonLat; d: number } | null = null;
  g.segs.forEach(([a, b], seg) => {
    const [ax, ay] = [(g.pts[a][0] - p[0]) * kx, g.pts[a][1] - p[1]];
    const [bx, by] = [(g.pts[b][0] - p[0]) * kx, g.pts[b][1] - p[1]];
    const [dx, dy] = [bx - ax, by - ay];
    const len2 = dx * dx + dy * dy;
    const u = len2 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2)) : 0;
    const at: LonLat = [g.pts[a][0] + u * (g.pts[b][0] - g.pts[a][0]), g.pts[a][1] + u * (g.pts[b][1] - g.pts[a][1])];
    const d = haversine(p, at);
    if (!best || d < best.d) best = { seg, u, at, d };
  });
  return best;
}

/** Shortest paths from the two ends of segment s (reached at `at`) over the graph (Dijkstra). */
function shortest(g: Graph, from: { seg: number; at: LonLat }): { dist: Float64Array; prev: Int32Array } {
  const n = g.pts.length;
  const dist = new Float64Array(n).fill(Infinity);
  const prev = new Int32Array(n).fill(-1);
  const heap: Array<[number, number]> = [];
  const push = (d: number, i: number) => {
    heap.push([d, i]);
    for (let c = heap.length - 1; c > 0;) {
      const p = (c - 1) >> 1;
      if (heap[p][0] <= heap[c][0]) break;
      [heap[p], heap[c]] = [heap[c], heap[p]];
      c = p;
    }
  };
  const pop = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let c = 0; ;) {
        const l = 2 * c + 1;
        const r = l + 1;
        let m = c;
        if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
        if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
        if (m === c) break;
        [heap[m], heap[c]] = [heap[c], heap[m]];
        c = m;
      }
    }
    return top;
  };
  for (const end of g.segs[from.seg]) {
    const d = haversine(from.at, g.pts[end]);
    if (d < dist[end]) {
      dist[end] = d;
      push(d, end);
    }
  }
  while (heap.length) {
    const [d, i] = pop();
    if (d > dist[i]) continue;
    for (const [j, w] of g.adj[i]) {
      if (d + w < dist[j]) {
        dist[j] = d + w;
        prev[j] = i;
        push(dist[j], j);
      }
    }
  }
  return { dist, prev };
}

function straightRoute(from: LonLat, to: LonLat): Route {
  const m = haversine(from, to);
  return { coords: [from, to], metres: m, roadMetres: 0, minutes: (m / 1000 / OFFROAD_KMH) * 60, straight: true };
}

/**
 * The way from `from` to `to`: straight to the nearest known road, along the roads, straight to
 * the vehicle; the straight line when no road is near both ends or the roads go far round.
 */
export function route(lines: LonLat[][], from: LonLat, to: LonLat): Route {
  const g = buildGraph(lines.filter((l) => l.length > 1));
  if (!g.segs.length) return straightRoute(from, to);
  const a = snap(g, from);
  const b = snap(g, to);
  if (!a || !b || a.d > MAX_ACCESS_M || b.d > MAX_ACCESS_M) return straightRoute(from, to);
  let road: number;
  let path: LonLat[];
  if (a.seg === b.seg) {
    // Both on one segment: along it.
    road = haversine(a.at, b.at);
    path = [a.at, b.at];
  } else {
    const { dist, prev } = shortest(g, a);
    const [e0, e1] = g.segs[b.seg];
    const via = [e0, e1].map((e) => ({ e, d: dist[e] + haversine(g.pts[e], b.at) })).sort((x, y) => x.d - y.d)[0];
    if (!Number.isFinite(via.d)) return straightRoute(from, to);
    road = via.d;
    const nodes: LonLat[] = [];
    for (let i = via.e; i >= 0; i = prev[i]) nodes.unshift(g.pts[i]);
    path = [a.at, ...nodes, b.at];
  }
  const off = a.d + b.d;
  const metres = off + road;
  const direct = haversine(from, to);
  // Roads that go far round, or legs off them longer than the straight line, are no help.
  if (metres > MAX_DETOUR * Math.max(direct, 1000) || off >= direct) return straightRoute(from, to);
  return { coords: [from, ...path, to], metres, roadMetres: road, minutes: (road / 1000 / ROAD_KMH + off / 1000 / OFFROAD_KMH) * 60, straight: false };
}

/** The lines routes follow: corridor zones', and a roads layer of the base map when there is one. */
export function roadLines(zones: GeoJSON.FeatureCollection | null, basemap: GeoJSON.FeatureCollection | null): LonLat[][] {
  const out: LonLat[][] = [];
  const add = (g: GeoJSON.Geometry | null) => {
    if (g?.type === 'LineString') out.push(g.coordinates as LonLat[]);
    else if (g?.type === 'MultiLineString') out.push(...(g.coordinates as LonLat[][]));
  };
  for (const f of zones?.features ?? []) if (f.properties?.kind === 'corridor') add(f.geometry);
  for (const f of basemap?.features ?? []) if (/road/i.test(String(f.properties?.layer ?? f.properties?.kind ?? ''))) add(f.geometry);
  return out;
}
