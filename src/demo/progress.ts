/**
 * Replay progress on stderr: one line redrawn in place on a terminal, a
 * plain line every few seconds when stderr is a file or a pipe.
 */

/** Where the replay stands, for one progress line. */
export interface ProgressPosition {
  /** Invoices done out of `total` (of the lap, or of the limit). */
  done: number;
  total: number;
  /** Lap number, from 1; shown only once the replay has looped. */
  lap: number;
  /** Invoices served per real second so far. */
  perSecond: number;
}

const BAR_WIDTH = 20;

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const mm = String(minutes).padStart(hours > 0 ? 2 : 1, '0');
  const ss = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A progress line such as `replay [#####...] 25.0% 272/1088 invoices ...`. */
export function formatProgress(position: ProgressPosition): string {
  const { done, total, lap, perSecond } = position;
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(share * BAR_WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  const eta = perSecond > 0 ? (total - done) / perSecond : Infinity;
  const lapText = lap > 1 ? `lap ${lap} ` : '';
  return (
    `replay ${lapText}[${bar}] ${(share * 100).toFixed(1)}% ` +
    `${done}/${total} invoices ${perSecond.toFixed(1)}/s ETA ${clock(eta)}`
  );
}

/** The stream progress is drawn on; a terminal is redrawn in place. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Draws progress lines, throttled so it costs nothing per invoice. */
export class ProgressReporter {
  private readonly startedMs: number;
  private lastDrawMs: number;
  private served = 0;
  private last: Omit<ProgressPosition, 'perSecond'> | undefined;

  /**
   * @param plainIntervalMillis how often a plain line is written when the
   *   output is not a terminal.
   */
  constructor(
    private readonly output: ProgressOutput,
    private readonly now: () => number = Date.now,
    private readonly plainIntervalMillis = 5000,
  ) {
    // The first line waits one interval too, so the rate means something.
    this.startedMs = now();
    this.lastDrawMs = this.startedMs;
  }

  /** Records one more invoice served and redraws when it is time. */
  update(done: number, total: number, lap: number): void {
    this.served += 1;
    this.last = { done, total, lap };
    const interval = this.output.isTTY ? 100 : this.plainIntervalMillis;
    if (this.now() - this.lastDrawMs >= interval) this.draw();
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.last) return;
    this.draw();
    if (this.output.isTTY) this.output.write('\n');
  }

  private draw(): void {
    if (!this.last) return;
    const nowMs = this.now();
    const seconds = (nowMs - this.startedMs) / 1000;
    const perSecond = seconds > 0 ? this.served / seconds : 0;
    const line = formatProgress({ ...this.last, perSecond });
    // On a terminal, return to the line start and clear what was there.
    this.output.write(this.output.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    this.lastDrawMs = nowMs;
  }
}
