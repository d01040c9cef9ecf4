import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  ServingTracker,
  startHealthServer,
  trackedFileOutput,
} from '../../src/demo/http.js';
import { runReplay } from '../../src/demo/replay.js';
import { SLICE_PATH } from './retail-rows.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-http-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inference = (id: string, status: string, time: string) =>
  JSON.stringify({
    type: 'inference',
    time,
    request_id: id,
    model: 'm',
    status,
    items: [],
  });
const purchase = JSON.stringify({
  type: 'feedback',
  time: 't',
  user: 'u',
  item: 'i',
  action: 'purchase',
});

describe('ServingTracker', () => {
  it('reports nothing served before the first line', () => {
    expect(new ServingTracker().health()).toEqual({
      status: 'ok',
      invoices_served: 0,
      lists_served: 0,
      last_invoice_time: null,
      lap: 0,
    });
  });

  it('counts invoices, non-empty lists, the last time and the lap from written lines', () => {
    const tracker = new ServingTracker();
    const text = [
      inference('req-536365', 'empty', '2010-12-01T08:26:00.000Z'),
      purchase,
      inference('req-536366', 'ok', '2010-12-01T08:28:00.000Z'),
      purchase,
      purchase,
      inference('req-536365.2', 'ok', '2011-12-10T08:26:00.000Z'),
      '',
    ].join('\n');
    // Split inside a line: the tracker must join the halves.
    const cut = text.indexOf('req-536366') + 3;
    tracker.observe(text.slice(0, cut));
    expect(tracker.health().invoices_served).toBe(1);
    tracker.observe(text.slice(cut));
    expect(tracker.health()).toEqual({
      status: 'ok',
      invoices_served: 3,
      lists_served: 2,
      last_invoice_time: '2011-12-10T08:26:00.000Z',
      lap: 2,
    });
  });
});

describe('trackedFileOutput under a looping replay', () => {
  it('agrees with the replay summary and the file it wrote', async () => {
    // The first six invoices of the shipped slice, so three laps are quick.
    const rows = (await readFile(SLICE_PATH, 'utf8'))
      .split('\r\n')
      .slice(0, 30);
    const data = join(dir, 'six-invoices.csv');
    await writeFile(data, `${rows.join('\r\n')}\r\n`);
    const tracker = new ServingTracker();
    const path = join(dir, 'logs', 'server.jsonl');
    const output = await trackedFileOutput(path, tracker);

    const summary = await runReplay({
      dataPath: data,
      output,
      speedup: 0,
      clock: 'source',
      loop: true,
      limit: 14,
      progress: false,
    });
    await new Promise<void>((resolve) => output.end(resolve));

    expect(summary).toMatchObject({ invoices: 14, laps: 3 });
    const lines = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const lists = lines.filter((e) => e.type === 'inference');
    expect(lists.at(-1).request_id).toMatch(/\.3$/);
    expect(tracker.health()).toEqual({
      status: 'ok',
      invoices_served: 14,
      lists_served: 14 - summary.emptyLists,
      last_invoice_time: lists.at(-1).time,
      lap: 3,
    });
    expect(lists.filter((e) => e.status === 'ok')).toHaveLength(
      14 - summary.emptyLists,
    );
  });

  it('names the output file it cannot open', async () => {
    await writeFile(join(dir, 'blocker'), '');
    const path = join(dir, 'blocker', 'server.jsonl');
    await expect(trackedFileOutput(path, new ServingTracker())).rejects.toThrow(
      `cannot open output file ${path}`,
    );
  });
});

describe('startHealthServer', () => {
  it('serves /health as JSON on 127.0.0.1:0, HEAD without a body, other paths 404', async () => {
    const tracker = new ServingTracker();
    tracker.observe(
      `${inference('req-1', 'ok', '2010-12-01T09:00:00.000Z')}\n`,
    );
    const server = await startHealthServer(
      { host: '127.0.0.1', port: 0 },
      tracker,
    );
    try {
      const url = `http://${server.address}`;
      const res = await fetch(`${url}/health?verbose=1`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({
        status: 'ok',
        invoices_served: 1,
        lists_served: 1,
        last_invoice_time: '2010-12-01T09:00:00.000Z',
        lap: 1,
      });
      const head = await fetch(`${url}/health`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      for (const path of ['/', '/metrics', '/healthz']) {
        expect((await fetch(url + path)).status, path).toBe(404);
      }
    } finally {
      await server.close();
    }
  });
});
