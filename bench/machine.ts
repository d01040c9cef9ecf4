/**
 * The machine a benchmark ran on, so that figures from different hosts are
 * never compared as if they were alike.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  /** First line of `mtail --version`, or why it is not there. */
  mtail: string;
}

/** The first line `mtail --version` prints, or undefined without mtail. */
export function mtailVersion(): string | undefined {
  const run = spawnSync('mtail', ['--version'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) return undefined;
  const text = `${run.stdout}${run.stderr}`.trim();
  return text.split('\n')[0];
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    mtail: mtailVersion() ?? 'not installed',
  };
}
