/**
 * A log writer and a log rotator for the rotation tests, run as separate
 * processes so that they race with the tailer and with each other as a
 * model server and logrotate do.
 *
 *   node rotating-writer.mjs write <file> <lines> rename
 *     appends numbered JSON lines in small bursts and, every 5-20 ms,
 *     renames the file to <file>.<n> and reopens <file> a few bursts later,
 *     as a server that reopens its log on a signal does;
 *   node rotating-writer.mjs write <file> <lines> append
 *     appends through one O_APPEND descriptor and never rotates;
 *   node rotating-writer.mjs copytruncate <file> <stop-file>
 *     copies <file> to <file>.<n> then truncates it, every 5-20 ms, until
 *     <stop-file> exists.
 *
 * Each prints one JSON summary line on stdout when done.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  renameSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [role, file, arg, mode] = process.argv.slice(2);

function rotationDelay() {
  return 5 + Math.floor(Math.random() * 16);
}

function line(n) {
  const time = new Date(Date.UTC(2026, 11, 4) + n).toISOString();
  return JSON.stringify({
    type: 'inference',
    time,
    request_id: `req-${n}`,
    model: 'two-tower',
    items: ['sku-1', 'sku-2'],
    n,
  });
}

async function write(total, rotating) {
  let fd = openSync(file, 'a');
  let rotations = 0;
  let nextRotation = Date.now() + rotationDelay();
  let reopenAfterBursts = -1;
  for (let n = 1; n <= total; ) {
    const burst = 1 + Math.floor(Math.random() * 8);
    let text = '';
    for (let i = 0; i < burst && n <= total; i++, n++) text += line(n) + '\n';
    writeSync(fd, text);

    if (reopenAfterBursts >= 0 && reopenAfterBursts-- === 0) {
      closeSync(fd);
      fd = openSync(file, 'a');
    }
    if (rotating && reopenAfterBursts < 0 && Date.now() >= nextRotation) {
      renameSync(file, `${file}.${++rotations}`);
      // Lines written until the reopen go to the renamed file.
      reopenAfterBursts = Math.floor(Math.random() * 4);
      nextRotation = Date.now() + rotationDelay();
    }
    await sleep(Math.random() < 0.5 ? 0 : 1);
  }
  closeSync(fd);
  return { lines: total, rotations };
}

async function copytruncate(stopFile) {
  let rotations = 0;
  while (!existsSync(stopFile)) {
    await sleep(rotationDelay());
    copyFileSync(file, `${file}.${++rotations}`);
    truncateSync(file, 0);
  }
  return { rotations };
}

const summary =
  role === 'write'
    ? await write(Number(arg), mode === 'rename')
    : await copytruncate(arg);
process.stdout.write(JSON.stringify(summary) + '\n');
