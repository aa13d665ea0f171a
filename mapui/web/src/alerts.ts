// Alerts keyed by id, so a refetch after a reconnect and the live stream
// never show one alert twice.
import { getAlerts, type Alert } from './api';

export const severityRank: Record<string, number> = { info: 0, warning: 1, critical: 2 };

export class AlertStore {
  readonly byId = new Map<string, Alert>();

  /** Returns true when the alert was not known before. */
  upsert(a: Alert): boolean {
    const key = String(a.id);
    const isNew = !this.byId.has(key);
    this.byId.set(key, { ...this.byId.get(key), ...a });
    return isNew;
  }

  /**
   * Replaces the open set with the server's view: fresh are the open alerts not known before;
   * gone, the ids of those known open that are not open any more (handled while we were away),
   * which drop out.
   */
  async refetchOpen(): Promise<{ fresh: Alert[]; gone: string[] }> {
    const open = await getAlerts({ status: 'open' });
    const fresh: Alert[] = [];
    const gone: string[] = [];
    const seen = new Set(open.map((a) => String(a.id)));
    for (const [id, a] of this.byId) {
      if (a.status === 'open' && !seen.has(id)) {
        this.byId.delete(id);
        gone.push(id);
      }
    }
    for (const a of open) if (this.upsert(a)) fresh.push(a);
    return { fresh, gone };
  }

  open(): Alert[] {
    return [...this.byId.values()].filter((a) => a.status === 'open');
  }

  /** Vehicles with an alert not yet resolved. */
  alertedVehicles(): Set<string> {
    const s = new Set<string>();
    for (const a of this.byId.values()) if (a.status !== 'resolved') s.add(a.vehicle_id);
    return s;
  }
}
