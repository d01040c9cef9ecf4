/**
 * Failover: tells whatever routes traffic to use the standby endpoint,
 * either by a small JSON request or by rewriting a file it watches. The
 * file is replaced by rename, so a reader sees the old name or the new
 * one, never half a write.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { request } from 'undici';
import type { ActionResult } from './command.js';
import type { FailoverAction } from './config.js';
import type { WebhookAlert } from './payload.js';
import { errText } from '../log.js';

/** Writes `content` to `file` through a temporary file beside it. */
export async function writeFileAtomic(
  file: string,
  content: string,
): Promise<void> {
  const suffix = `${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const temp = join(dirname(file), `.${basename(file)}.${suffix}`);
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The JSON body sent to a failover URL. */
export interface FailoverRequest {
  active: string;
  rule: string;
  alertname: string;
  fingerprint: string;
}

async function switchByRequest(
  action: FailoverAction,
  body: FailoverRequest,
): Promise<ActionResult> {
  const timeoutMs = action.timeoutSeconds * 1000;
  const response = await request(action.url, {
    method: action.method,
    headers: { ...action.headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  // The answer's body is not needed, but must be read to free the socket.
  await response.body.dump();
  const ok = response.statusCode >= 200 && response.statusCode < 300;
  return { ok, result: `http ${response.statusCode}` };
}

/** Switches to `action.standby`; resolves with the outcome, never rejects. */
export async function runFailover(
  action: FailoverAction,
  rule: string,
  alert: WebhookAlert,
): Promise<ActionResult> {
  try {
    if (action.file) {
      await writeFileAtomic(action.file, `${action.standby}\n`);
      return { ok: true, result: `wrote ${action.standby}` };
    }
    return await switchByRequest(action, {
      active: action.standby,
      rule,
      alertname: alert.labels.alertname ?? '',
      fingerprint: alert.fingerprint,
    });
  } catch (err) {
    return { ok: false, result: 'error', detail: errText(err) };
  }
}
