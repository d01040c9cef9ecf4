/**
 * A fixed-size buffer that forgets its oldest entry when full, so that the
 * status history holds a bounded time span however long the exporter runs.
 */
export class RingBuffer<T> {
  private readonly slots: Array<T | undefined>;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new Error(
        `ring buffer capacity must be a whole number >= 1, got ${capacity}`,
      );
    }
    this.slots = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Appends an entry, dropping the oldest when full. */
  push(entry: T): void {
    const end = (this.start + this.size) % this.capacity;
    this.slots[end] = entry;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  /** The newest entry, if any. */
  latest(): T | undefined {
    if (this.size === 0) return undefined;
    return this.slots[(this.start + this.size - 1) % this.capacity];
  }

  /** Every entry, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) {
      out.push(this.slots[(this.start + i) % this.capacity] as T);
    }
    return out;
  }
}
