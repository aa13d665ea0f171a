// A small stand-in for `borderwatch serve`, used only when the real binary cannot be
// built yet: the same /api/v1 shapes, the live WebSocket and an OsmAnd listener.
// It raises one kind of alert (a crossing of its straight border line outside its port)
// so the alert path can be exercised end to end.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';

const BORDER_LAT = 43.72;
const PORT_LON = [111.9, 111.97];

export const stubZones = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { id: 'border', name: 'CN–MN border', kind: 'border', domestic_side: 'right' }, geometry: { type: 'LineString', coordinates: [[110.5, BORDER_LAT], [113.5, BORDER_LAT]] } },
    { type: 'Feature', properties: { id: 'erenhot', name: '二连浩特', kind: 'port' }, geometry: { type: 'Polygon', coordinates: [[[PORT_LON[0], 43.69], [PORT_LON[1], 43.69], [PORT_LON[1], 43.75], [PORT_LON[0], 43.75], [PORT_LON[0], 43.69]]] } },
    { type: 'Feature', properties: { id: 'erenhot-yard', name: '二连浩特堆场', kind: 'yard' }, geometry: { type: 'Polygon', coordinates: [[[111.97, 43.63], [112.0, 43.63], [112.0, 43.65], [111.97, 43.65], [111.97, 43.63]]] } },
    { type: 'Feature', properties: { id: 'erenhot-corridor', name: '口岸—堆场', kind: 'corridor', width_m: 300 }, geometry: { type: 'LineString', coordinates: [[111.935, 43.69], [111.95, 43.67], [111.98, 43.65]] } },
  ],
};

const mime = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

export async function startStub({ dist, password }) {
  const tokens = new Set();
  const fixes = new Map(); // vehicle → [fix] in time order
  const alerts = new Map();
  const events = [];
  const sockets = new Set();
  let seq = 0;

  const broadcast = (msg) => {
    const frame = wsFrame(JSON.stringify(msg));
    for (const s of sockets) s.write(frame);
  };

  const json = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res, status, code, message) => json(res, status, { error: { code, message } });
  const body = (req) => new Promise((r) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => r(b ? JSON.parse(b) : {}));
  });

  const ingest = (q) => {
    const ts = Number(q.get('timestamp'));
    const f = {
      id: ++seq, vehicle_id: q.get('id'), device_id: q.get('id'),
      time: new Date(ts > 2 ** 31 ? ts : ts * 1000).toISOString(), received_at: new Date().toISOString(),
      lat: Number(q.get('lat')), lon: Number(q.get('lon')), speed_kmh: Number(q.get('speed') ?? 0) * 1.852,
      heading: Number(q.get('bearing') ?? 0), altitude_m: 0, valid: true, late: false, flags: [],
    };
    const list = fixes.get(f.vehicle_id) ?? [];
    const prev = list[list.length - 1];
    list.push(f);
    list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    fixes.set(f.vehicle_id, list);
    broadcast({ type: 'position', fix: f });
    if (prev && (prev.lat - BORDER_LAT) * (f.lat - BORDER_LAT) < 0) {
      const inPort = f.lon >= PORT_LON[0] && f.lon <= PORT_LON[1];
      events.push({ type: 'border_cross', time: f.time, vehicle_id: f.vehicle_id, zone_id: 'border', lat: f.lat, lon: f.lon, port_zone_id: inPort ? 'erenhot' : null, direction: f.lat < BORDER_LAT ? 'inbound' : 'outbound' });
      if (!inPort) {
        const a = { id: String(++seq), type: 'border_crossing_outside_port', severity: 'critical', status: 'open', vehicle_id: f.vehicle_id, time: f.time, zone_id: 'border', declaration_id: null, late: false, lat: f.lat, lon: f.lon, message: 'crossed the border outside every port', evidence: { fixes: [prev, f], zones: ['border'] } };
        alerts.set(a.id, a);
        broadcast({ type: 'alert', alert: a });
      }
    }
  };

  const api = async (req, res, url) => {
    const path = url.pathname.slice('/api/v1'.length);
    if (path === '/login' && req.method === 'POST') {
      const b = await body(req);
      if (b.username !== 'admin' || b.password !== password) return fail(res, 401, 'unauthorized', 'bad credentials');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      return json(res, 200, { token, expires_at: new Date(Date.now() + 12 * 3600e3).toISOString() });
    }
    const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '') || url.searchParams.get('token');
    if (!tokens.has(auth)) return fail(res, 401, 'unauthorized', 'no session');
    const q = url.searchParams;
    let m;
    if (path === '/me') return json(res, 200, { username: 'admin', role: 'admin' });
    if (path === '/logout') return json(res, 200, {});
    if (path === '/config') return json(res, 200, { timezone: 'Asia/Shanghai' });
    if (path === '/zones') return json(res, 200, stubZones);
    if (path === '/positions') return json(res, 200, { positions: [...fixes.values()].map((l) => l[l.length - 1]) });
    if (path === '/vehicles') return json(res, 200, { vehicles: [...fixes.keys()].map((id) => ({ id, plate: id, kind: 'truck' })) });
    if ((m = /^\/vehicles\/([^/]+)\/track$/.exec(path))) {
      const id = decodeURIComponent(m[1]);
      const from = Date.parse(q.get('from') ?? 0);
      const to = Date.parse(q.get('to') ?? '') || Date.now();
      const list = (fixes.get(id) ?? []).filter((f) => Date.parse(f.time) >= from && Date.parse(f.time) <= to);
      if (q.get('format') === 'csv') {
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        return res.end('time,lat,lon,speed_kmh\n' + list.map((f) => `${f.time},${f.lat},${f.lon},${f.speed_kmh}`).join('\n'));
      }
      if (q.get('format') === 'geojson') return json(res, 200, { type: 'Feature', properties: { vehicle_id: id }, geometry: { type: 'LineString', coordinates: list.map((f) => [f.lon, f.lat]) } });
      if (q.get('format')) {
        res.writeHead(200, { 'Content-Type': 'application/xml' });
        return res.end(`<?xml version="1.0"?><${q.get('format')}/>`);
      }
      return json(res, 200, { vehicle_id: id, fixes: list });
    }
    if (path === '/events') return json(res, 200, { events: events.filter((e) => (!q.get('vehicle_id') || e.vehicle_id === q.get('vehicle_id')) && (!q.get('type') || e.type === q.get('type'))) });
    if (path === '/alerts') return json(res, 200, { alerts: [...alerts.values()].filter((a) => (!q.get('status') || a.status === q.get('status')) && (!q.get('vehicle_id') || a.vehicle_id === q.get('vehicle_id'))) });
    if ((m = /^\/alerts\/([^/]+)\/(ack|resolve)$/.exec(path)) && req.method === 'POST') {
      const a = alerts.get(decodeURIComponent(m[1]));
      if (!a) return fail(res, 404, 'not_found', 'no such alert');
      const b = await body(req);
      Object.assign(a, { status: m[2] === 'ack' ? 'acknowledged' : 'resolved', note: b.note });
      broadcast({ type: 'alert', alert: a });
      return json(res, 200, a);
    }
    return fail(res, 404, 'not_found', 'no such API call');
  };

  const http = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/api/')) return api(req, res, url);
    const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    try {
      const data = await readFile(join(dist, file));
      res.writeHead(200, { 'Content-Type': mime[extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  http.on('upgrade', (req, socket) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname !== '/api/v1/live' || !tokens.has(url.searchParams.get('token'))) return socket.destroy();
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    sockets.add(socket);
    socket.on('data', () => {}); // subscriptions are accepted and ignored
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
  });
  const osmand = createServer((req, res) => {
    ingest(new URL(req.url, 'http://x').searchParams);
    res.end('OK');
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  await new Promise((r) => osmand.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${http.address().port}`,
    osmand: `http://127.0.0.1:${osmand.address().port}`,
    async stop() {
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      osmand.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => osmand.close(r))]);
    },
  };
}

function wsFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x81, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}
