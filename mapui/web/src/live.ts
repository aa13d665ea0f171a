// The live WebSocket: reconnects by itself with backoff, sends the view's subscription (area,
// vehicles, severity) on every (re)connection and whenever the view changes it, and tells its
// owner once the server has acknowledged it, so the owner can catch up by refetching what it
// missed or what the old filter held back.
import { sessionEnded, token, type Alert, type Fix } from './api';
import { notice, type Notice } from './targeting';

/** What a view wants; the server narrows positions (and alerts, unless all_alerts) to it. */
export interface Subscription {
  bbox?: [number, number, number, number]; // minLon, minLat, maxLon, maxLat
  vehicles?: string[];
  min_severity?: 'info' | 'warning' | 'critical';
  all_alerts?: boolean;
}

export interface LiveHandlers {
  position?(f: Fix): void;
  alert?(a: Alert): void;
  /**
   * After every successful (re)connection and after every subscription change, once the server
   * applies the filter: everything from here on matches it.
   */
  connected?(): void;
  status?(up: boolean): void;
}

type Msg =
  | { type: 'position'; fix: Fix }
  | { type: 'alert'; alert: Alert }
  | ({ type: 'subscribed' } & Subscription)
  | { type: 'error'; message: string }
  | Notice
  | { type: 'batch'; messages: Msg[] };

/** What the connection has done, for the browser tests and the console. */
export interface LiveStats {
  positions: number;
  alerts: number;
  subscriptions: number;
  acked: Subscription | null;
  frames: number;
  /** JS time spent parsing and dispatching frames, the views' handlers included. */
  msgMs: number;
}

export class Live {
  private ws: WebSocket | null = null;
  private retry = 0;
  private timer: number | undefined;
  private closed = false;
  private sub: Subscription | null;
  private sentSub = '';
  readonly stats: LiveStats = { positions: 0, alerts: 0, subscriptions: 0, acked: null, frames: 0, msgMs: 0 };
  private readonly onOnline = () => this.reconnectNow();

  constructor(private h: LiveHandlers, sub: Subscription | null = null) {
    this.sub = sub;
    (window as unknown as { bwLive: Live }).bwLive = this;
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  close(): void {
    this.closed = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    this.ws?.close();
  }

  /** Replaces the subscription; unchanged ones are not resent. */
  subscribe(sub: Subscription): void {
    this.sub = sub;
    if (this.ws?.readyState === WebSocket.OPEN) this.sendSub(this.ws);
  }

  private sendSub(ws: WebSocket): void {
    const body = JSON.stringify({ type: 'subscribe', ...this.sub });
    if (body === this.sentSub) return;
    this.sentSub = body;
    this.stats.subscriptions++;
    ws.send(body);
  }

  private open(): void {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/live?token=${encodeURIComponent(token() ?? '')}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.h.status?.(true);
      this.sentSub = '';
      // Without a subscription everything comes at once; with one, catch up on its acknowledgement.
      if (this.sub) this.sendSub(ws);
      else this.h.connected?.();
    };
    ws.onmessage = (e) => {
      const t0 = performance.now();
      try {
        this.dispatch(JSON.parse(e.data as string) as Msg);
      } catch (err) {
        console.warn('live: bad message', err);
      }
      this.stats.frames++;
      this.stats.msgMs += performance.now() - t0;
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.h.status?.(false);
      // 4401: the session ended (logout, expiry, the user changed); reconnecting cannot help.
      if (e.code === 4401) {
        this.close();
        sessionEnded();
        return;
      }
      this.schedule();
    };
  }

  private dispatch(m: Msg): void {
    switch (m.type) {
      case 'position':
        this.stats.positions++;
        this.h.position?.(m.fix);
        break;
      case 'alert':
        // A message that is not an alert as the server sends it is dropped: the views file
        // alerts by id and word their status, and an unknown status has no words.
        if (!isAlert(m.alert)) {
          console.warn('live: not an alert', m.alert);
          break;
        }
        this.stats.alerts++;
        this.h.alert?.(m.alert);
        break;
      case 'subscribed': {
        const { type: _, ...sub } = m;
        this.stats.acked = sub;
        this.h.connected?.();
        break;
      }
      case 'error':
        console.warn('live:', m.message);
        break;
      case 'target':
        notice(m);
        break;
      case 'batch':
        // One broken message costs itself only, not the rest of the batch.
        for (const x of Array.isArray(m.messages) ? m.messages : []) {
          try {
            this.dispatch(x);
          } catch (err) {
            console.warn('live: bad message', err);
          }
        }
        break;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    // 1 s, 2 s, 4 s … up to 30 s, with jitter so a hundred tablets do not return at once.
    const base = Math.min(30_000, 1000 * 2 ** this.retry++);
    this.timer = window.setTimeout(() => this.open(), base / 2 + Math.random() * (base / 2));
  }

  private reconnectNow(): void {
    if (this.closed || this.ws) return;
    clearTimeout(this.timer);
    this.retry = 0;
    this.open();
  }
}

const alertStatuses = new Set(['open', 'acknowledged', 'resolved']);

/** Whether x has what every view reads of an alert, with a status the app words. */
export function isAlert(x: unknown): x is Alert {
  if (!x || typeof x !== 'object') return false;
  const a = x as Record<string, unknown>;
  return (typeof a.id === 'number' || (typeof a.id === 'string' && a.id !== '')) && alertStatuses.has(a.status as string) &&
    typeof a.type === 'string' && typeof a.severity === 'string' && typeof a.vehicle_id === 'string' &&
    typeof a.time === 'string' && !Number.isNaN(Date.parse(a.time));
}

/** A box grown by a fraction of its size on every side (less re-subscribing on small pans). */
export function padBox(b: [number, number, number, number], frac: number): [number, number, number, number] {
  const dx = (b[2] - b[0]) * frac;
  const dy = (b[3] - b[1]) * frac;
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return [r(Math.max(-180, b[0] - dx)), r(Math.max(-90, b[1] - dy)), r(Math.min(180, b[2] + dx)), r(Math.min(90, b[3] + dy))];
}

export function inBox(b: readonly number[] | undefined, lon: number, lat: number): boolean {
  return !b || (lon >= b[0] && lat >= b[1] && lon <= b[2] && lat <= b[3]);
}
