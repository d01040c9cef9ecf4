/**
 * Two exporters, one Prometheus: the real-data replay is split into two
 * logs by user, each tailed by its own exporter, and a real Prometheus
 * scrapes both under one job with the generated recording rules. Quality
 * summed over the instances must equal quality computed over the whole
 * log, and request rates must add up.
 *
 * Why the split is by user: the attribution join matches a feedback line
 * to the latest list served to the same user, inside one exporter. When
 * every line of a user goes to one file, each exporter sees, for each of
 * its users, exactly the lists and feedback the whole log holds, in the
 * same order, so it counts exactly the hits a single exporter would have.
 * The counters of the two instances then add up to the whole log's, and a
 * ratio of sums over instances is the whole log's ratio. Split any other
 * way (round robin, by request) and feedback lands on an instance that
 * never saw its list: those hits are lost, and no query can restore them.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  validateBundleConfig,
  type BundleConfig,
} from '../../src/bundle/config.js';
import { generateBundle } from '../../src/bundle/files.js';
import { recorded } from '../../src/bundle/recording.js';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import {
  scrape,
  startCli,
  sum,
  waitFor,
  type RunningCli,
} from '../e2e/helpers.js';
import { referenceQuality, type ReferenceCounts } from '../e2e/reference.js';
import {
  freePort,
  query,
  startService,
  type Sample,
  type Service,
} from './services.js';

/** The exporter's defaults, which the reference must use too. */
const ATTRIBUTION_WINDOW_SECONDS = 1800;
const K = [5, 10];
/** Long enough to cover every increase when the comparison runs. */
const RATE_WINDOW = '30s';
/** Each log is written in this many parts, a second apart, so rates are not zero. */
const BATCHES = 5;
const JOB = 'inference-exporter';
const BY = 'model, version, scene';

let dir: string;
let allLines: string[];
let shards: [string[], string[]];
const exporters: RunningCli[] = [];
let prometheus: Service;
let config: BundleConfig;

/** 0 or 1 from a hash of the user, the same on every run and machine. */
function shardOf(line: string): 0 | 1 {
  const user = String((JSON.parse(line) as { user: unknown }).user);
  return (createHash('sha256').update(user).digest()[0]! & 1) as 0 | 1;
}

/** The bundle's Prometheus config, scraping both exporters as one job. */
function twoTargetConfig(text: string, targets: string[]): string {
  const doc = parse(text) as Record<string, any>;
  delete doc.alerting;
  doc.scrape_configs = doc.scrape_configs
    .filter((job: { job_name: string }) => job.job_name === JOB)
    .map((job: Record<string, unknown>) => ({
      ...job,
      static_configs: [{ targets }],
    }));
  return stringify(doc);
}

async function startPrometheus(targets: string[]): Promise<Service> {
  const port = await freePort();
  const nobody = await freePort();
  config = validateBundleConfig({
    exporterTarget: targets[0],
    prometheusTarget: `127.0.0.1:${port}`,
    alertmanagerTarget: `127.0.0.1:${nobody}`,
    modelServerTarget: `127.0.0.1:${nobody}`,
    scrapeIntervalSeconds: 1,
    evaluationIntervalSeconds: 1,
    recordingWindows: [RATE_WINDOW],
    alertWindow: RATE_WINDOW,
  });
  for (const [path, text] of generateBundle(config)) {
    if (!path.startsWith('prometheus/')) continue;
    const file = join(dir, 'bundle', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      path === 'prometheus/prometheus.yml'
        ? twoTargetConfig(text, targets)
        : text,
    );
  }
  return startService(
    'prometheus',
    'prometheus',
    [
      `--config.file=${join(dir, 'bundle/prometheus/prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    port,
    '/-/ready',
  );
}

/** Lines in `parts` nearly equal runs, keeping their order. */
function batches(lines: string[], parts: number): string[][] {
  const size = Math.ceil(lines.length / parts);
  return Array.from({ length: parts }, (_, i) =>
    lines.slice(i * size, (i + 1) * size),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-aggregation-'));
  const whole = join(dir, 'whole.jsonl');
  await runReplay({
    dataPath: defaultDataPath(),
    output: whole,
    clock: 'source',
    speedup: 0,
    progress: false,
    limit: 600,
  });
  allLines = readFileSync(whole, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  shards = [
    allLines.filter((l) => shardOf(l) === 0),
    allLines.filter((l) => shardOf(l) === 1),
  ];

  // The first part is there before anyone starts, so every series exists
  // from Prometheus's first scrape on; the rest follows while it watches.
  const files = [join(dir, 'shard-0.jsonl'), join(dir, 'shard-1.jsonl')];
  const parts = shards.map((s) => batches(s, BATCHES));
  files.forEach((file, i) =>
    writeFileSync(file, parts[i]![0]!.map((l) => `${l}\n`).join('')),
  );
  for (const file of files) {
    exporters.push(
      await startCli([
        `--source.path=${file}`,
        '--tail.from-beginning',
        '--no-collector.host',
      ]),
    );
  }
  prometheus = await startPrometheus(
    exporters.map((e) => `127.0.0.1:${e.port}`),
  );
  await waitFor(
    async () =>
      (await query(prometheus.url, `up{job="${JOB}"} == 1`)).length === 2,
    20_000,
    'both exporters scraped',
  );

  for (let part = 1; part < BATCHES; part++) {
    await sleep(1000);
    files.forEach((file, i) =>
      appendFileSync(file, parts[i]![part]!.map((l) => `${l}\n`).join('')),
    );
  }
  await waitFor(
    async () => {
      const texts = await Promise.all(exporters.map((e) => scrape(e.port)));
      return texts.every(
        (t, i) =>
          sum(t.text, 'inference_log_lines_total') === shards[i]!.length,
      );
    },
    20_000,
    'every line counted',
  );
  // Two more scrapes, so Prometheus holds the final counts.
  await waitFor(
    async () => {
      const r = await query(
        prometheus.url,
        `sum(inference_log_lines_total{job="${JOB}"})`,
      );
      return Number(r[0]?.value[1]) === allLines.length;
    },
    10_000,
    'final counts scraped',
  );
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const e of exporters) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Instant query at a given time (seconds since the epoch). */
async function queryAt(expr: string, time: number): Promise<Sample[]> {
  const url = `${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    data: { result: Sample[] };
  };
  if (body.status !== 'success') throw new Error(`query failed: ${expr}`);
  return body.data.result;
}

const keyOf = (m: Record<string, string>) =>
  `${m.model}/${m.version}/${m.scene}`;

/** Results by (model, version, scene). */
function byKey(samples: Sample[]): Map<string, number> {
  return new Map(samples.map((s) => [keyOf(s.metric), Number(s.value[1])]));
}

/** Per-instance results summed by (model, version, scene) here, not in PromQL. */
function summedByKey(samples: Sample[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples)
    sums.set(
      keyOf(s.metric),
      (sums.get(keyOf(s.metric)) ?? 0) + Number(s.value[1]),
    );
  return sums;
}

/** Keys where precision and recall are defined over the whole log. */
function scoredKeys(reference: Map<string, ReferenceCounts>): string[] {
  return [...reference]
    .filter(([, r]) => r.recommended > 0 && r.relevant > 0)
    .map(([k]) => k);
}

const f1 = (p: number, r: number) => (2 * p * r) / (p + r);

describe('two exporters behind one job', () => {
  it('splits the log so that both instances serve lists and see hits', () => {
    for (const shard of shards) {
      const quality = referenceQuality(shard, ATTRIBUTION_WINDOW_SECONDS, K);
      const hits = [...quality.values()].reduce((n, r) => n + r.hits, 0);
      expect(hits).toBeGreaterThan(0);
    }
    expect(shards[0].length + shards[1].length).toBe(allLines.length);
  });

  it('sums counters over instances to the quality of the whole log', async () => {
    const reference = referenceQuality(allLines, ATTRIBUTION_WINDOW_SECONDS, K);
    const total = (name: string) => `sum by (${BY}) (${name}{job="${JOB}"})`;
    const hits = total('inference_quality_hits_total');
    const precision = byKey(
      await query(
        prometheus.url,
        `${hits} / ${total('inference_quality_recommended_items_total')}`,
      ),
    );
    const recall = byKey(
      await query(
        prometheus.url,
        `${hits} / ${total('inference_quality_relevant_items_total')}`,
      ),
    );
    const keys = scoredKeys(reference);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const r = reference.get(key)!;
      expect(precision.get(key)!, key).toBeCloseTo(r.hits / r.recommended, 9);
      expect(recall.get(key)!, key).toBeCloseTo(r.hits / r.relevant, 9);
      expect(f1(precision.get(key)!, recall.get(key)!)).toBeCloseTo(
        f1(r.hits / r.recommended, r.hits / r.relevant),
        9,
      );
    }

    const instances = await query(
      prometheus.url,
      `inference_requests_total{job="${JOB}"}`,
    );
    expect(new Set(instances.map((s) => s.metric.instance)).size).toBe(2);
    const requests = instances.reduce((n, s) => n + Number(s.value[1]), 0);
    expect(requests).toBe(
      allLines.filter((l) => l.includes('"type":"inference"')).length,
    );
  });

  it('records precision, recall, F1 and request rate as ratios of rates summed over instances', async () => {
    // With the exporters gone no sample can arrive late, so a rule run
    // after that sees exactly the samples a query at its time sees.
    const stoppedAt = Date.now() / 1000;
    for (const e of exporters) await e.stop();
    let at = 0;
    await waitFor(
      async () => {
        const r = await query(
          prometheus.url,
          `max(timestamp(${recorded.precision(RATE_WINDOW)}))`,
        );
        at = Number(r[0]?.value[1] ?? 0);
        return at > stoppedAt + 1.5;
      },
      15_000,
      'a rule evaluation after the exporters stopped',
    );

    const perInstance = async (name: string) =>
      (await queryAt(`rate(${name}{job="${JOB}"}[${RATE_WINDOW}])`, at)).filter(
        (s) => s.metric.instance,
      );
    const hits = await perInstance('inference_quality_hits_total');
    const recommended = await perInstance(
      'inference_quality_recommended_items_total',
    );
    const relevant = await perInstance(
      'inference_quality_relevant_items_total',
    );
    const requests = await perInstance('inference_requests_total');
    const [h, rec, rel, req] = [hits, recommended, relevant, requests].map(
      summedByKey,
    ) as Map<string, number>[];

    const recordedAt = async (name: string) => byKey(await queryAt(name, at));
    const precision = await recordedAt(recorded.precision(RATE_WINDOW));
    const recall = await recordedAt(recorded.recall(RATE_WINDOW));
    const f1Recorded = await recordedAt(recorded.f1(RATE_WINDOW));
    const requestRate = await recordedAt(recorded.requestRate(RATE_WINDOW));

    const keys = [...precision.keys()].filter(
      (k) => Number.isFinite(recall.get(k)) && recall.get(k)! > 0,
    );
    expect(keys.length).toBeGreaterThanOrEqual(2);
    let averagingWouldDiffer = false;
    for (const key of keys) {
      const p = h!.get(key)! / rec!.get(key)!;
      const r = h!.get(key)! / rel!.get(key)!;
      expect(precision.get(key)!, key).toBeCloseTo(p, 9);
      expect(recall.get(key)!, key).toBeCloseTo(r, 9);
      expect(f1Recorded.get(key)!, key).toBeCloseTo(f1(p, r), 9);
      const ratios = hits
        .filter((s) => keyOf(s.metric) === key)
        .map(
          (s) =>
            Number(s.value[1]) /
            Number(
              recommended.find(
                (x) =>
                  x.metric.instance === s.metric.instance &&
                  keyOf(x.metric) === key,
              )!.value[1],
            ),
        );
      const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
      if (Math.abs(mean - p) > 1e-6) averagingWouldDiffer = true;
    }
    // Otherwise the check above could not tell a sum from an average.
    expect(averagingWouldDiffer).toBe(true);

    expect(requestRate.size).toBe(req!.size);
    for (const [key, rate] of req!) {
      expect(rate, key).toBeGreaterThan(0);
      expect(requestRate.get(key)!, key).toBeCloseTo(rate, 9);
    }
  }, 30_000);
});
