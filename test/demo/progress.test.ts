import { describe, expect, it } from 'vitest';

import { formatProgress, ProgressReporter } from '../../src/demo/progress.js';

describe('formatProgress', () => {
  it('draws the bar, share, count, rate and time left', () => {
    // 272 of 1088 is 25%: 5 of 20 marks; 816 left at 12.5/s is 65.28 s.
    expect(
      formatProgress({ done: 272, total: 1088, lap: 1, perSecond: 12.5 }),
    ).toBe(
      'replay [#####...............] 25.0% 272/1088 invoices 12.5/s ETA 1:05',
    );
  });

  it('names the lap once looping, and shows hours when they are needed', () => {
    // 9000 left at 2/s is 4500 s = 1 h 15 min 0 s.
    expect(
      formatProgress({ done: 1000, total: 10000, lap: 3, perSecond: 2 }),
    ).toBe(
      'replay lap 3 [##..................] 10.0% 1000/10000 invoices 2.0/s ETA 1:15:00',
    );
  });

  it('shows an unknown time left before any rate is known', () => {
    expect(formatProgress({ done: 0, total: 5, lap: 1, perSecond: 0 })).toMatch(
      / 0\/5 invoices 0\.0\/s ETA --:--$/,
    );
  });
});

interface FakeOutput {
  writes: string[];
  isTTY: boolean;
  write(text: string): void;
}

function fakeOutput(isTTY: boolean): FakeOutput {
  const writes: string[] = [];
  return { writes, isTTY, write: (text) => writes.push(text) };
}

describe('ProgressReporter', () => {
  it('redraws a terminal line in place at most every 100 ms', () => {
    let now = 1000;
    const output = fakeOutput(true);
    const reporter = new ProgressReporter(output, () => now);
    reporter.update(1, 4, 1); // too soon after start: not drawn
    now = 1100;
    reporter.update(2, 4, 1); // drawn: 2 served in 0.1 s
    now = 1150;
    reporter.update(3, 4, 1); // too soon
    reporter.finish(); // drawn, then the line is ended

    expect(output.writes).toEqual([
      '\rreplay [##########..........] 50.0% 2/4 invoices 20.0/s ETA 0:00\x1b[K',
      '\rreplay [###############.....] 75.0% 3/4 invoices 20.0/s ETA 0:00\x1b[K',
      '\n',
    ]);
  });

  it('writes a plain line every interval when not on a terminal', () => {
    let now = 0;
    const output = fakeOutput(false);
    const reporter = new ProgressReporter(output, () => now, 5000);
    for (let done = 1; done <= 12; done += 1) {
      now = done * 1000;
      reporter.update(done, 12, 1);
    }
    reporter.finish();
    expect(output.writes).toEqual([
      'replay [########............] 41.7% 5/12 invoices 1.0/s ETA 0:07\n',
      'replay [#################...] 83.3% 10/12 invoices 1.0/s ETA 0:02\n',
      'replay [####################] 100.0% 12/12 invoices 1.0/s ETA 0:00\n',
    ]);
  });

  it('writes nothing when nothing was served', () => {
    const output = fakeOutput(true);
    new ProgressReporter(output).finish();
    expect(output.writes).toEqual([]);
  });
});
