// Per-port counters for the wall: vehicles inside each port zone, vehicles on a
// corridor leading to it, and its open alerts.
import type { Alert, Fix, ZoneCollection } from './api';
import { bboxOf, centroid, distanceToLine, haversine, inBBox, inPolygon, lines, type BBox, type LonLat } from './geo';

export interface PortCount {
  id: string;
  name: string;
  inPort: number;
  onCorridor: number;
  openAlerts: number;
}

interface Port {
  id: string;
  name: string;
  geom: GeoJSON.Geometry;
  bbox: BBox;
  center: LonLat;
}

interface Corridor {
  port: string;
  lines: LonLat[][];
  width: number;
  bbox: BBox;
}

export class PortCounter {
  private ports: Port[] = [];
  private corridors: Corridor[] = [];

  constructor(z: ZoneCollection) {
    for (const f of z.features) {
      const p = f.properties;
      if (p?.kind === 'port' && f.geometry && (f.geometry.type === 'Polygon' || f.geometry.type === 'MultiPolygon')) {
        this.ports.push({ id: p.id, name: p.name ?? p.id, geom: f.geometry, bbox: bboxOf(f.geometry.coordinates), center: centroid(f.geometry) });
      }
    }
    for (const f of z.features) {
      const p = f.properties;
      if (p?.kind !== 'corridor' || !f.geometry) continue;
      const ls = lines(f.geometry);
      if (!ls.length || !this.ports.length) continue;
      const width = Number(p.width_m ?? 500);
      // A corridor belongs to the port it names, else to the port nearest one of its ends.
      let port = typeof p.port_zone_id === 'string' ? p.port_zone_id : '';
      if (!port) {
        const ends = [ls[0][0], ls[ls.length - 1][ls[ls.length - 1].length - 1]];
        let best = Infinity;
        for (const pt of this.ports) {
          for (const e of ends) {
            const d = haversine(e, pt.center);
            if (d < best) [best, port] = [d, pt.id];
          }
        }
      }
      this.corridors.push({ port, lines: ls, width, bbox: bboxOf(ls, width / 80_000) });
    }
  }

  count(fixes: Iterable<Fix>, alerts: Iterable<Alert>, fixesByVehicle: Map<string, Fix>): PortCount[] {
    const rows = new Map<string, PortCount>(this.ports.map((p) => [p.id, { id: p.id, name: p.name, inPort: 0, onCorridor: 0, openAlerts: 0 }]));
    for (const f of fixes) {
      const pt: LonLat = [f.lon, f.lat];
      const port = this.ports.find((p) => inBBox(pt, p.bbox) && inPolygon(pt, p.geom));
      if (port) {
        rows.get(port.id)!.inPort++;
        continue;
      }
      const c = this.corridors.find((c) => inBBox(pt, c.bbox) && c.lines.some((l) => distanceToLine(pt, l) <= c.width));
      const row = c && rows.get(c.port);
      if (row) row.onCorridor++;
    }
    for (const a of alerts) {
      if (a.status !== 'open') continue;
      let row = a.zone_id ? rows.get(a.zone_id) : undefined;
      if (!row) {
        const f = fixesByVehicle.get(a.vehicle_id);
        const placed = a.lon != null && a.lat != null && (a.lon !== 0 || a.lat !== 0); // 0, 0: the rule knew no place
        const pt: LonLat | null = placed ? [a.lon!, a.lat!] : f ? [f.lon, f.lat] : null;
        if (pt) row = rows.get(this.nearestPort(pt) ?? '');
      }
      if (row) row.openAlerts++;
    }
    return [...rows.values()];
  }

  private nearestPort(pt: LonLat): string | undefined {
    let best = Infinity;
    let id: string | undefined;
    for (const p of this.ports) {
      const d = haversine(pt, p.center);
      if (d < best) [best, id] = [d, p.id];
    }
    return id;
  }
}
