/**
 * Feedback read ahead of the lists it may belong to. Inference and
 * feedback often come from different files or systems, read side by side,
 * so a purchase can be read before the list the user saw. Such feedback
 * waits here, ordered by its event time, until the lists up to that time
 * have been read; what still waits when its hold is over, or when the hold
 * is full, is let go to be matched with what is there.
 */
import type { FeedbackEvent } from '../formats/events.js';

export interface HeldFeedbackOptions {
  /** Longest wait for an event, in wall time. */
  holdMillis: number;
  /** Most events waiting; past it, the earliest in event time go first. */
  maxHeld: number;
  now?: () => number;
}

interface Held {
  event: FeedbackEvent;
  at: number;
  done: boolean;
}

/** Compact the arrival queue once this many released entries lead it. */
const COMPACT_AFTER = 1024;

export class HeldFeedback {
  /** Min-heap on event time. */
  private readonly heap: Held[] = [];
  /** Arrival order, for the hold time; released entries stay as done. */
  private arrivals: Held[] = [];
  private head = 0;
  private readonly now: () => number;

  constructor(private readonly options: HeldFeedbackOptions) {
    if (!(options.holdMillis >= 0) || !(options.maxHeld >= 1)) {
      throw new Error(
        `attribution hold must be >= 0 s and hold >= 1 event, got ${options.holdMillis} ms and ${options.maxHeld}`,
      );
    }
    this.now = options.now ?? Date.now;
  }

  /** Events waiting now. */
  get size(): number {
    return this.heap.length;
  }

  /** Holds `event`; returns those let go to make room. */
  hold(event: FeedbackEvent): FeedbackEvent[] {
    const held: Held = { event, at: this.now(), done: false };
    this.push(held);
    this.arrivals.push(held);
    const released: FeedbackEvent[] = [];
    while (this.heap.length > this.options.maxHeld) {
      released.push(this.pop()!.event);
    }
    return released;
  }

  /** Takes the events with a time at or before `timeMs`, earliest first. */
  upTo(timeMs: number, inclusive: boolean): FeedbackEvent[] {
    const out: FeedbackEvent[] = [];
    while (this.heap.length > 0) {
      const t = this.heap[0]!.event.timeMs;
      if (inclusive ? t > timeMs : t >= timeMs) break;
      out.push(this.pop()!.event);
    }
    return out;
  }

  /** Takes the events whose hold time is over, earliest in time first. */
  expired(): FeedbackEvent[] {
    const limit = this.now() - this.options.holdMillis;
    let latest = -Infinity;
    while (this.head < this.arrivals.length) {
      const held = this.arrivals[this.head]!;
      if (!held.done && held.at > limit) break;
      this.head++;
      if (!held.done) latest = Math.max(latest, held.event.timeMs);
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.arrivals.length) {
      this.arrivals = this.arrivals.slice(this.head);
      this.head = 0;
    }
    // Whatever waited longer, and everything earlier than it, goes.
    return latest === -Infinity ? [] : this.upTo(latest, true);
  }

  private push(held: Held): void {
    const heap = this.heap;
    heap.push(held);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.event.timeMs <= held.event.timeMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = held;
  }

  private pop(): Held | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child =
          right < heap.length &&
          heap[right]!.event.timeMs < heap[left]!.event.timeMs
            ? right
            : left;
        if (heap[child]!.event.timeMs >= last.event.timeMs) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    top.done = true;
    return top;
  }
}
