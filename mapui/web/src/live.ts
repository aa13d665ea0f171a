// The live WebSocket: reconnects by itself with backoff, and tells its owner when
// it (re)connects so the owner can catch up by refetching what it missed. It sends no
// subscription: the wall and the tablet want everything their role may see.
import { token, type Alert, type Fix } from './api';

export interface LiveHandlers {
  position?(f: Fix): void;
  alert?(a: Alert): void;
  /** After every successful (re)connection, before live messages are relied upon. */
  connected?(): void;
  status?(up: boolean): void;
}

type Msg =
  | { type: 'position'; fix: Fix }
  | { type: 'alert'; alert: Alert }
  | { type: 'batch'; messages: Msg[] };

export class Live {
  private ws: WebSocket | null = null;
  private retry = 0;
  private timer: number | undefined;
  private closed = false;
  private readonly onOnline = () => this.reconnectNow();

  constructor(private h: LiveHandlers) {
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  close(): void {
    this.closed = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    this.ws?.close();
  }

  private open(): void {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/live?token=${encodeURIComponent(token() ?? '')}`);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.h.status?.(true);
      this.h.connected?.();
    };
    ws.onmessage = (e) => {
      try {
        this.dispatch(JSON.parse(e.data as string) as Msg);
      } catch (err) {
        console.warn('live: bad message', err);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.h.status?.(false);
      this.schedule();
    };
  }

  private dispatch(m: Msg): void {
    switch (m.type) {
      case 'position':
        this.h.position?.(m.fix);
        break;
      case 'alert':
        this.h.alert?.(m.alert);
        break;
      case 'batch':
        for (const x of m.messages) this.dispatch(x);
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
