import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import {
  gpuCollector,
  gpuCollectorIfPresent,
  NVIDIA_SMI_ARGS,
  NVIDIA_SMI_FIELDS,
  parseNvidiaSmiCsv,
  type GpuDevice,
} from '../../src/host/gpu.js';
import { createLogger } from '../../src/log.js';
import { MetricStore } from '../../src/metrics/store.js';
import { promtoolCheckMetrics } from '../e2e/helpers.js';

const FIXTURES = fileURLToPath(
  new URL('./fixtures/nvidia-smi/', import.meta.url),
);
const UUID = 'GPU-00000000-0000-0000-0000-000000000000';

function fixture(name: string): Promise<string> {
  return readFile(join(FIXTURES, name), 'utf8');
}

function gpuLines(store: MetricStore): string[] {
  return store
    .render('prometheus')
    .split('\n')
    .filter((l) => l.startsWith('inference_host_gpu_'));
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0))
    await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gpu-test-'));
  dirs.push(dir);
  return dir;
}

/** A stand-in nvidia-smi that records its arguments and prints `output`. */
async function fakeNvidiaSmi(
  output: string,
  exitCode = 0,
): Promise<{ dir: string; argsFile: string }> {
  const dir = await tempDir();
  const argsFile = join(dir, 'args.txt');
  const outputFile = join(dir, 'output.txt');
  await writeFile(outputFile, output);
  const script = join(dir, 'nvidia-smi');
  await writeFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\ncat '${outputFile}'\nexit ${exitCode}\n`,
  );
  await chmod(script, 0o755);
  return { dir, argsFile };
}

describe('the recorded fixtures', () => {
  it.each(['h100-mig-idle', 'rtx-4080-super-load'])(
    '%s.csv is the recorded row projected onto our query, without units',
    async (name) => {
      const [header, row] = (await fixture(`${name}.recorded.csv`))
        .trim()
        .split('\n');
      const columns = header!
        .split(', ')
        .map((c) => c.replace(/ \[[^\]]+\]$/, ''));
      const cells = row!.split(', ');
      expect(cells).toHaveLength(columns.length);
      const projected = NVIDIA_SMI_FIELDS.map((field) => {
        const at = columns.indexOf(field);
        expect(at, field).toBeGreaterThanOrEqual(0);
        return cells[at]!.replace(/ (MiB|%|W)$/, '');
      });
      expect(await fixture(`${name}.csv`)).toBe(`${projected.join(', ')}\n`);
    },
  );
});

describe('parseNvidiaSmiCsv', () => {
  it('reads a GeForce under load, every field present', async () => {
    expect(parseNvidiaSmiCsv(await fixture('rtx-4080-super-load.csv'))).toEqual(
      [
        {
          index: '0',
          uuid: UUID,
          name: 'NVIDIA GeForce RTX 4080 SUPER',
          utilizationRatio: 0.07,
          memoryUsedBytes: 1545601024,
          memoryTotalBytes: 17171480576,
          powerWatts: 84.24,
        },
      ],
    );
  });

  it('leaves out the utilization an H100 in MIG mode reports as [N/A]', async () => {
    expect(parseNvidiaSmiCsv(await fixture('h100-mig-idle.csv'))).toEqual([
      {
        index: '0',
        uuid: UUID,
        name: 'NVIDIA H100 80GB HBM3',
        memoryUsedBytes: 61865984,
        memoryTotalBytes: 85520809984,
        powerWatts: 71.15,
      },
    ]);
  });

  it('reads several devices and any bracketed word as absent', () => {
    const text = [
      '0, GPU-a, Tesla T4, 35, 1024, 15360, [Not Supported]',
      '1, GPU-b, Tesla T4, [Unknown Error], 0, 15360, 27.5',
      '',
    ].join('\n');
    expect(parseNvidiaSmiCsv(text)).toEqual([
      {
        index: '0',
        uuid: 'GPU-a',
        name: 'Tesla T4',
        utilizationRatio: 0.35,
        memoryUsedBytes: 1073741824,
        memoryTotalBytes: 16106127360,
      },
      {
        index: '1',
        uuid: 'GPU-b',
        name: 'Tesla T4',
        memoryUsedBytes: 0,
        memoryTotalBytes: 16106127360,
        powerWatts: 27.5,
      },
    ]);
  });

  it('rejects output of another shape, naming the line', () => {
    expect(() => parseNvidiaSmiCsv('0, GPU-a, Tesla T4, 35\n')).toThrow(
      'line 1 has 4 columns, want 7',
    );
    const header = `${NVIDIA_SMI_FIELDS.join(', ')}\n`;
    expect(() => parseNvidiaSmiCsv(header)).toThrow(
      'line 1 has GPU index "index", want a number',
    );
  });
});

describe('gpuCollector', () => {
  const t4 = (index: string, uuid: string): GpuDevice => ({
    index,
    uuid,
    name: 'Tesla T4',
    utilizationRatio: 0.5,
    memoryTotalBytes: 100,
  });

  it('exports each device with the gpu and uuid labels and an info series', async () => {
    const store = new MetricStore();
    const collector = gpuCollector(store, async () =>
      parseNvidiaSmiCsv(await fixture('rtx-4080-super-load.csv')),
    );
    collector.record(await collector.collect());

    const ids = `gpu="0",uuid="${UUID}"`;
    expect(gpuLines(store)).toEqual([
      `inference_host_gpu_info{${ids},name="NVIDIA GeForce RTX 4080 SUPER"} 1`,
      `inference_host_gpu_utilization_ratio{${ids}} 0.07`,
      `inference_host_gpu_memory_used_bytes{${ids}} 1545601024`,
      `inference_host_gpu_memory_total_bytes{${ids}} 17171480576`,
      `inference_host_gpu_power_watts{${ids}} 84.24`,
    ]);
    const check = promtoolCheckMetrics(store.render('prometheus'));
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('drops the series of a device that is gone and of values turned absent', () => {
    const store = new MetricStore();
    const collector = gpuCollector(store, async () => []);
    collector.record([t4('0', 'GPU-a'), t4('1', 'GPU-b')]);
    collector.record([
      { index: '1', uuid: 'GPU-b', name: 'Tesla T4', memoryTotalBytes: 100 },
    ]);

    expect(gpuLines(store)).toEqual([
      'inference_host_gpu_info{gpu="1",uuid="GPU-b",name="Tesla T4"} 1',
      'inference_host_gpu_memory_total_bytes{gpu="1",uuid="GPU-b"} 100',
    ]);
  });
});

describe('gpuCollectorIfPresent', () => {
  it('runs nvidia-smi found on the PATH with the CSV query', async () => {
    const { dir, argsFile } = await fakeNvidiaSmi(
      await fixture('h100-mig-idle.csv'),
    );
    const store = new MetricStore();
    const collector = gpuCollectorIfPresent(store, {
      pathEnv: `/nonexistent:${dir}`,
    });
    expect(collector?.name).toBe('gpu');

    collector!.record(await collector!.collect());

    expect((await readFile(argsFile, 'utf8')).trim().split('\n')).toEqual(
      NVIDIA_SMI_ARGS,
    );
    expect(gpuLines(store)).toContain(
      `inference_host_gpu_power_watts{gpu="0",uuid="${UUID}"} 71.15`,
    );
    expect(
      gpuLines(store).some((l) =>
        l.startsWith('inference_host_gpu_utilization_ratio'),
      ),
    ).toBe(false);
  });

  it('gives no collector, no series and one debug line when nvidia-smi is absent', async () => {
    const empty = await tempDir();
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const store = new MetricStore();

    expect(
      gpuCollectorIfPresent(store, { pathEnv: empty, log }),
    ).toBeUndefined();

    expect(store.render('prometheus')).not.toContain('gpu');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('level=debug');
    expect(lines[0]).toContain('nvidia-smi not on PATH');
  });

  it('rejects with what nvidia-smi said when it fails', async () => {
    const said =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    const { dir } = await fakeNvidiaSmi(`${said}\n`, 9);
    const collector = gpuCollectorIfPresent(new MetricStore(), {
      pathEnv: dir,
    });

    await expect(collector!.collect()).rejects.toThrow(
      `running nvidia-smi: ${said}`,
    );
  });
});
