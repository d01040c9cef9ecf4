/**
 * Fills an attribution join with N pending recommendation lists in a fresh
 * process and prints its memory after a full collection, as JSON.
 *
 *   node --expose-gc memory-child.js N ITEMS_FILE
 *
 * Lists hold 10 real product codes and carry distinct request ids and user
 * keys, as a busy shop's signed-in traffic would; nothing is evicted.
 */
import { readFileSync } from 'node:fs';
import type { InferenceEvent } from '../src/formats/events.js';
import {
  AttributionJoin,
  type QualitySink,
} from '../src/quality/attribution.js';

/** What the child reports. */
export interface MemoryReading {
  pending: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Typed arrays' memory, outside the JS heap. */
  arrayBufferBytes: number;
}

const LIST_LENGTH = 10;
const START_MS = Date.UTC(2011, 0, 3, 9);

const ignore: QualitySink = {
  list: () => {},
  relevant: () => {},
  feedback: () => {},
  evicted: () => {},
};

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
}

function fill(join: AttributionJoin, pending: number, itemIds: string[]): void {
  for (let i = 0; i < pending; i++) {
    const items: string[] = [];
    for (let r = 0; r < LIST_LENGTH; r++) {
      items.push(itemIds[(i * 7 + r * 131) % itemIds.length]!);
    }
    const event: InferenceEvent = {
      kind: 'inference',
      // One list a millisecond: a million fit well inside the window.
      timeMs: START_MS + i,
      model: 'cooccurrence',
      version: 'v1',
      scene: 'recommend',
      outcome: 'ok',
      items,
      requestId: `req-${600000 + i}`,
      userKey: `user-${100000 + i}`,
    };
    join.addList(event, 0);
  }
}

function main(): void {
  const [count, itemsFile] = process.argv.slice(2);
  const pending = Number(count);
  if (!Number.isInteger(pending) || pending < 0 || !itemsFile) {
    throw new Error('usage: memory-child.js N ITEMS_FILE');
  }
  const itemIds = JSON.parse(readFileSync(itemsFile, 'utf8')) as string[];
  const join = new AttributionJoin(
    { windowSeconds: 3600, maxPendingLists: Math.max(1, pending) },
    ignore,
  );
  fill(join, pending, itemIds);
  collect();
  const usage = process.memoryUsage();
  // Read after measuring, so the join is surely alive when measured.
  if (join.pending !== pending)
    throw new Error(`join holds ${join.pending} lists`);
  const reading: MemoryReading = {
    pending,
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    arrayBufferBytes: usage.arrayBuffers,
  };
  process.stdout.write(JSON.stringify(reading) + '\n');
}

main();
