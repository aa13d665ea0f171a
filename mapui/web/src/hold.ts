// A list that holds still under the user's hand (the tablet's alert list, the wall's ticker):
// while a pointer is pressed on it, and for a grace after a release or a touch (a scroll, a
// moving pointer), what arrives waits, so that a tap or click lands on the row it was aimed at.

export class Hold {
  private readonly pointers = new Set<number>();
  private pressedAt = 0;
  private until = 0;
  private timer: number | undefined;
  private readonly off: Array<() => void> = [];

  /** onRelease is called when a hold ends (settle); maxPressMs bounds a press whose release the browser never reports. */
  constructor(private readonly graceMs: number, private readonly maxPressMs: number, private readonly onRelease: () => void) {}

  /** How long it is still held (≤ 0: not): while pressed, maxPressMs at most, and graceMs after the last release or touch. */
  left(): number {
    return Math.max(this.pointers.size ? this.pressedAt + this.maxPressMs : 0, this.until) - Date.now();
  }

  /** Presses on el hold it; their release, wherever it happens, starts the grace. */
  pressOn(el: HTMLElement): void {
    const down = (e: PointerEvent) => {
      if (!this.pointers.size) this.pressedAt = Date.now();
      this.pointers.add(e.pointerId);
      this.settle();
    };
    const up = (e: PointerEvent) => {
      if (this.pointers.delete(e.pointerId)) this.touch();
    };
    el.addEventListener('pointerdown', down);
    window.addEventListener('pointerup', up, true);
    window.addEventListener('pointercancel', up, true);
    this.off.push(() => {
      window.removeEventListener('pointerup', up, true);
      window.removeEventListener('pointercancel', up, true);
    });
  }

  /** Each of these events on el holds it for the grace. */
  touchOn(el: HTMLElement, events: string[]): void {
    for (const ev of events) el.addEventListener(ev, () => this.touch(), { passive: true });
  }

  private touch(): void {
    this.until = Date.now() + this.graceMs;
    this.settle();
  }

  /** Calls onRelease once the hold is over: now if it is. */
  settle(): void {
    clearTimeout(this.timer);
    const left = this.left();
    if (left > 0) this.timer = window.setTimeout(() => this.settle(), left + 20);
    else this.onRelease();
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const f of this.off) f();
  }
}
