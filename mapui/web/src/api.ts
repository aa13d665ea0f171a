// API client for /api/v1 (its handlers are the Go package mapui): the token in sessionStorage,
// Bearer on every call, {"error":{code,message}} turned into ApiError.

export interface Fix {
  id?: string | number;
  vehicle_id: string;
  device_id?: string;
  time: string;
  received_at?: string;
  lat: number;
  lon: number;
  speed_kmh: number;
  heading?: number;
  altitude_m?: number;
  valid?: boolean;
  late?: boolean;
  flags?: string[];
}

export type Severity = 'info' | 'warning' | 'critical' | string;

export interface Alert {
  id: string | number;
  type: string;
  severity: Severity;
  status: 'open' | 'acknowledged' | 'resolved' | string;
  vehicle_id: string;
  time: string;
  zone_id?: string | null;
  declaration_id?: string | null;
  late?: boolean;
  lat?: number | null;
  lon?: number | null;
  message?: string;
  evidence?: unknown;
  /** Who acknowledged or resolved it and when, and the note they left (or the server's words, tracker/alert.go). */
  acked_by?: string;
  acked_at?: string;
  resolved_by?: string;
  resolved_at?: string;
  note?: string;
  /** The vehicle's plate and kind, as GET /alerts adds them (not in live messages). */
  plate?: string;
  vehicle_kind?: string;
}

export interface BwEvent {
  type: string;
  time: string;
  vehicle_id: string;
  zone_id?: string | null;
  lat?: number;
  lon?: number;
  [k: string]: unknown;
}

export interface Vehicle {
  id: string;
  plate?: string;
  kind?: string;
  /** The driver whose card is in the terminal's reader; null: none known. */
  driver?: Driver | null;
  [k: string]: unknown;
}

export interface Driver {
  card_id: string;
  name: string;
  since: string;
}

export interface Me {
  username: string;
  role: Role;
  /** The password was generated at first start or has expired: only its change is allowed. */
  must_change?: boolean;
  /** The user has a second factor. */
  totp?: boolean;
  /** The role requires a second factor the user has not enrolled: only its enrolment is allowed. */
  totp_enrolment_required?: boolean;
  /** What the role may do (mapui/access/roles.go). */
  permissions?: string[];
  /** 'district' or the port zone the user belongs to: a port's command and patrols see its area only. */
  unit?: string;
}

export type Role = 'admin' | 'security' | 'auditor' | 'command' | 'patrol' | 'investigator';

export interface ZoneProps {
  id: string;
  name?: string;
  kind: string;
  width_m?: number;
  [k: string]: unknown;
}

export type ZoneCollection = GeoJSON.FeatureCollection<GeoJSON.Geometry, ZoneProps>;

export interface BasemapConfig {
  type?: 'raster' | 'pmtiles' | string;
  tiles?: string[];
  url?: string;
  tile_size?: number;
  attribution?: string;
  max_zoom?: number;
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

const TOKEN_KEY = 'bw.token';
const EXPIRES_KEY = 'bw.expires_at';

export function token(): string | null {
  const t = sessionStorage.getItem(TOKEN_KEY);
  const exp = sessionStorage.getItem(EXPIRES_KEY);
  if (t && exp && Date.parse(exp) < Date.now()) {
    clearToken();
    return null;
  }
  return t;
}

/** Ends the session on the server too; the local token goes whatever the answer. */
export async function logout(): Promise<void> {
  try {
    await api('/logout', { method: 'POST' });
  } catch {
    // already expired or offline: nothing more to end
  } finally {
    clearToken();
  }
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EXPIRES_KEY);
}

/** Called when any call answers 401: the session is over. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

/** The server ended the session some other way than an answer (the live socket's close 4401). */
export function sessionEnded(): void {
  onUnauthorized();
}

/** Called when a call answers 403 password_change_required: the password must be changed first. */
let onPasswordChangeRequired: () => void = () => {};
export function setPasswordChangeHandler(f: () => void): void {
  onPasswordChangeRequired = f;
}

/** Called when a call answers 403 totp_enrolment_required: the second factor must be enrolled first. */
let onTOTPEnrolmentRequired: () => void = () => {};
export function setTOTPEnrolmentHandler(f: () => void): void {
  onTOTPEnrolmentRequired = f;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const t = token();
  if (t) headers.set('Authorization', `Bearer ${t}`);
  // A FormData body sets its own multipart type with the boundary.
  if (init.body && !(init.body instanceof FormData) && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  const res = await fetch(`/api/v1${path}`, { ...init, headers });
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText;
    try {
      const body = await res.json();
      if (body?.error) ({ code, message } = body.error);
    } catch {
      // not JSON: keep the status text
    }
    if (res.status === 401 && !path.startsWith('/login')) onUnauthorized();
    if (res.status === 403 && code === 'password_change_required') onPasswordChangeRequired();
    if (res.status === 403 && code === 'totp_enrolment_required') onTOTPEnrolmentRequired();
    throw new ApiError(res.status, code, message);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

interface Session {
  token: string;
  expires_at: string;
  must_change?: boolean;
}

function keep(s: Session): void {
  sessionStorage.setItem(TOKEN_KEY, s.token);
  sessionStorage.setItem(EXPIRES_KEY, s.expires_at);
}

/** Signs in; totp is the second factor's code or a recovery code (refused 401 totp_required when needed and missing). */
export async function login(username: string, password: string, totp?: string): Promise<void> {
  keep(await api<Session>('/login', {
    method: 'POST',
    body: JSON.stringify(totp ? { username, password, totp } : { username, password }),
  }));
}

/** Starts the enrolment of the signed-in user's second factor. */
export const enrolTOTP = () => api<{ secret: string; otpauth_url: string }>('/me/totp', { method: 'POST' });

/** Confirms the second factor with a code of it; the server ends every session of the user and answers a new one with the recovery codes. */
export async function confirmTOTP(code: string): Promise<string[]> {
  const s = await api<Session & { recovery_codes: string[] }>('/me/totp/confirm', { method: 'POST', body: JSON.stringify({ code }) });
  keep(s);
  return s.recovery_codes;
}

/** Changes the signed-in user's password; the server ends every session of the user and answers a new one. */
export async function changePassword(old: string, next: string): Promise<void> {
  keep(await api<Session>('/me/password', {
    method: 'POST',
    body: JSON.stringify({ old, new: next }),
  }));
}

export const getMe = () => api<Me>('/me');
export const getZones = () => api<ZoneCollection>('/zones');
export const getPositions = async () => (await api<{ positions: Fix[] }>('/positions')).positions ?? [];
export const getVehicles = async () => {
  const r = await api<{ vehicles?: Vehicle[] } | Vehicle[]>('/vehicles');
  return Array.isArray(r) ? r : (r.vehicles ?? []);
};

export const getVehicle = (id: string) => api<Vehicle>(`/vehicles/${encodeURIComponent(id)}`);

export const getAlert = (id: string | number) => api<Alert>(`/alerts/${encodeURIComponent(String(id))}`);

export async function getAlerts(q: Record<string, string>): Promise<Alert[]> {
  return (await api<{ alerts: Alert[] }>(`/alerts?${new URLSearchParams(q)}`)).alerts ?? [];
}

export async function getEvents(q: Record<string, string>): Promise<BwEvent[]> {
  return (await api<{ events: BwEvent[] }>(`/events?${new URLSearchParams(q)}`)).events ?? [];
}

export async function getTrack(vehicleId: string, from: Date, to: Date): Promise<Fix[]> {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  const r = await api<{ fixes: Fix[] }>(`/vehicles/${encodeURIComponent(vehicleId)}/track?${q}`);
  return r.fixes ?? [];
}

/** A track as columns (format=columns), decoded: fix i is (t[i], lon[i], lat[i], speed[i]). */
export interface Track {
  n: number;
  t: Float64Array; // ms since 1970
  lon: Float64Array;
  lat: Float64Array;
  speed: Float32Array; // km/h
  invalid: number[];
}

interface TrackColumns {
  count: number;
  t: number[];
  lat: number[];
  lon: number[];
  speed: number[];
  invalid: number[];
}

/** The compact track for replays: integer columns, times and coordinates delta-coded. */
export async function getTrackColumns(vehicleId: string, from: Date, to: Date): Promise<Track> {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), format: 'columns' });
  const c = await api<TrackColumns>(`/vehicles/${encodeURIComponent(vehicleId)}/track?${q}`);
  return decodeTrack(c);
}

export function decodeTrack(c: TrackColumns): Track {
  const n = c.t.length;
  const tr: Track = { n, t: new Float64Array(n), lon: new Float64Array(n), lat: new Float64Array(n), speed: new Float32Array(n), invalid: c.invalid ?? [] };
  let t = 0;
  let lat = 0;
  let lon = 0;
  for (let i = 0; i < n; i++) {
    t += c.t[i];
    lat += c.lat[i];
    lon += c.lon[i];
    tr.t[i] = t;
    tr.lat[i] = lat / 1e6;
    tr.lon[i] = lon / 1e6;
    tr.speed[i] = c.speed[i] / 10;
  }
  return tr;
}

/** ack, resolve, or confirm: resolve as an offence, which counts for the vehicle as a repeat offender. */
export function alertAction(id: Alert['id'], action: 'ack' | 'resolve' | 'confirm', note: string): Promise<Alert | undefined> {
  return api<Alert | undefined>(`/alerts/${encodeURIComponent(String(id))}/${action}`, {
    method: 'POST',
    body: JSON.stringify({ note }),
  });
}

/** The deployment's basemap, if /config names one; absent or failing means shipped data only. */
export async function getBasemap(): Promise<BasemapConfig | null> {
  try {
    const r = await api<{ basemap?: BasemapConfig }>('/config');
    return r?.basemap ?? null;
  } catch {
    return null;
  }
}

/** Downloads an export with the Authorization header, so the token never lands in a URL or log. */
export async function download(path: string, filename: string): Promise<void> {
  const headers = new Headers();
  const t = token();
  if (t) headers.set('Authorization', `Bearer ${t}`);
  const res = await fetch(`/api/v1${path}`, { headers });
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, res.statusText);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export type Action = 'wall' | 'tablet' | 'replay' | 'audit' | 'export' | 'ack' | 'targets' | 'inspect' | 'alerts' | 'admin' | 'daily' | 'groups' | 'scales';

// Mirrors the server's role matrix (mapui/access/roles.go); the server enforces it, this only
// hides what would be refused. The auditor alone reads the audit trail, and nothing else; the
// security administrator's work (roles, unlocks) is the administration's users and roles tab.
const rights: Record<Role, Action[]> = {
  admin: ['wall', 'tablet', 'replay', 'export', 'ack', 'alerts', 'admin', 'daily', 'groups', 'scales'],
  security: ['admin'],
  command: ['wall', 'tablet', 'replay', 'ack', 'targets', 'inspect', 'alerts', 'admin', 'daily', 'groups', 'scales'],
  patrol: ['tablet', 'replay', 'ack', 'inspect'],
  investigator: ['wall', 'replay', 'export', 'alerts', 'daily', 'groups', 'scales'],
  auditor: ['audit'],
};

export function can(role: Role | undefined, a: Action): boolean {
  return !!role && (rights[role] ?? []).includes(a);
}
