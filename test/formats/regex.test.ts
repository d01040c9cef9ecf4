import { describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../src/config/schema.js';
import { createParser } from '../../src/formats/index.js';
import { RegexLineParser, type RegexOptions } from '../../src/formats/regex.js';
import {
  fixtureLines,
  fixtureText,
  ipv4Addresses,
  NOW,
  source,
} from './helpers.js';

function options(
  over: Partial<RegexOptions> & { pattern: string },
): RegexOptions {
  const s = source();
  return {
    type: 'auto',
    defaults: s.defaults,
    timeUnit: s.fields.timeUnit,
    latencyUnit: s.fields.latencyUnit,
    ...over,
  };
}

/** TorchServe's worker output, read with a pattern: the handler's own timing. */
const WORKER_TIMING =
  '^(?<time>\\S+ \\S+) \\[INFO \\] W-\\d+-stdout \\S+ - inference time: (?<latency>[\\d.]+)$';

/** TorchServe's access line, read with a pattern instead of the built-in format. */
const ACCESS =
  '^(?<time>\\S+ \\S+) .* "\\w+ /predictions/(?<model>[^/ ]+) [^"]+" (?<status>\\d+) (?<latency>\\d+)$';

describe('RegexLineParser on real lines', () => {
  it('reads TorchServe worker timing lines, with a default model', () => {
    const parser = new RegexLineParser(
      options({
        pattern: WORKER_TIMING,
        defaults: { ...source().defaults, model: 'resnet-18' },
      }),
    );
    const results = fixtureLines(
      'torchserve-access',
      'logging-md-worker-output.log',
    ).map((l) => parser.parse(l, NOW));
    expect(results).toEqual([
      { ok: false, skipped: true, reason: 'no_match' },
      {
        ok: true,
        event: {
          kind: 'inference',
          timeMs: 1539536399926,
          model: 'resnet-18',
          version: 'unknown',
          scene: 'default',
          outcome: 'ok',
          latencySeconds: 0.11731,
          items: [],
        },
      },
      { ok: false, skipped: true, reason: 'no_match' },
    ]);
  });

  it('reads the TorchServe access line like the built-in parser does', () => {
    const [line] = fixtureLines('torchserve-access', 'logging-md.log');
    const viaRegex = new RegexLineParser(options({ pattern: ACCESS })).parse(
      line!,
      NOW,
    );
    const viaFormat = createParser('torchserve-access', {
      source: source(),
    }).parse(line!, NOW);
    expect(viaRegex).toEqual(viaFormat);
    expect(JSON.stringify(viaRegex)).not.toContain(
      ipv4Addresses(fixtureText('torchserve-access', 'logging-md.log'))[0],
    );
  });

  it('reads epoch times and latency in the configured units', () => {
    const parser = new RegexLineParser(
      options({
        pattern: 'timestamp:(?<time>\\d+)$',
        timeUnit: 's',
        latencyUnit: 'us',
        defaults: { ...source().defaults, model: 'host' },
      }),
    );
    const [, metric] = fixtureLines(
      'torchserve-metrics',
      'metrics-md-formatting.log',
    );
    const r = parser.parse(metric!, NOW);
    expect(r.ok && r.event.timeMs).toBe(1682098185000);
  });
});

// Lines below are our own, to reach the fields no real sample above has.
describe('RegexLineParser fields', () => {
  const LIST =
    '^(?<time>\\S+) (?<kind>\\w+) model=(?<model>\\S+) v=(?<version>\\S+) scene=(?<scene>\\S+) rid=(?<request_id>\\S+) user=(?<user>\\S+) items=(?<items>\\S*) ms=(?<latency>\\S+) outcome=(?<outcome>\\S+)$';
  const parser = new RegexLineParser(options({ pattern: LIST }));

  it('reads every inference field', () => {
    const line =
      '2010-12-01T08:26:00Z inference model=popularity v=v1 scene=recommend rid=r-1 user=17850 items=85123A,71053 ms=0.412 outcome=ok';
    expect(parser.parse(line, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: Date.UTC(2010, 11, 1, 8, 26),
        requestId: 'r-1',
        model: 'popularity',
        version: 'v1',
        scene: 'recommend',
        outcome: 'ok',
        latencySeconds: 0.000412,
        items: ['85123A', '71053'],
        userKey: '17850',
      },
    });
  });

  it('reads feedback lines, folding action words', () => {
    const feedback = new RegexLineParser(
      options({
        type: 'feedback',
        pattern: '^(?<time>\\d+) (?<user>\\S+) (?<action>\\w+) (?<item>\\S+)$',
      }),
    );
    expect(feedback.parse('1291191960 17850 add_to_cart 85123A', NOW)).toEqual({
      ok: true,
      event: {
        kind: 'feedback',
        timeMs: 1291191960000,
        userKey: '17850',
        itemId: '85123A',
        action: 'cart',
      },
    });
    expect(feedback.parse('1291191960 17850 stare 85123A', NOW)).toEqual({
      ok: false,
      skipped: false,
      reason: 'bad_value',
      field: 'action',
    });
    expect(
      feedback.parse('1291191960 17850 constructor 85123A', NOW),
    ).toMatchObject({ reason: 'bad_value' });
  });

  it('maps a numeric status group onto an outcome and keeps a word as it is', () => {
    const status = new RegexLineParser(
      options({ pattern: '^(?<model>\\w+) (?<status>\\w+)$' }),
    );
    const outcomeOf = (line: string) => {
      const r = status.parse(line, NOW);
      return r.ok && r.event.kind === 'inference' ? r.event.outcome : r;
    };
    expect([
      outcomeOf('m 200'),
      outcomeOf('m 504'),
      outcomeOf('m 404'),
      outcomeOf('m empty'),
    ]).toEqual(['ok', 'timeout', 'client_error', 'empty']);
  });

  it('skips lines of other kinds', () => {
    const line =
      '2010-12-01T08:26:00Z startup model=m v=1 scene=s rid=r user=u items= ms=1 outcome=ok';
    expect(parser.parse(line, NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_type',
    });
  });

  it.each([
    [
      '2010-13-01T08:26:00Z inference model=m v=1 scene=s rid=r user=u items= ms=1 outcome=ok',
      'bad_time',
      'time',
    ],
    [
      '2010-12-01T08:26:00Z inference model=m v=1 scene=s rid=r user=u items= ms=-1 outcome=ok',
      'bad_value',
      'latency',
    ],
    [
      '2010-12-01T08:26:00Z inference model=m v=1 scene=s rid=r user=u items= ms=fast outcome=ok',
      'bad_value',
      'latency',
    ],
    [
      `2010-12-01T08:26:00Z inference model=${'m'.repeat(129)} v=1 scene=s rid=r user=u items= ms=1 outcome=ok`,
      'bad_value',
      'model',
    ],
  ])('rejects %s as %s naming %s', (line, reason, field) => {
    expect(parser.parse(line, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });
});

describe('RegexLineParser configuration', () => {
  it('throws naming the option and the bad pattern', () => {
    expect(
      () => new RegexLineParser(options({ pattern: '(?<model>\\w+' })),
    ).toThrow(
      /^pattern: not a valid regular expression: "\(\?<model>\\w\+" \(/,
    );
  });

  it('throws on a group it does not know, which is most often a typo', () => {
    expect(
      () =>
        new RegexLineParser(
          options({ pattern: '(?<model>\\w+) (?<latncy>\\d+)' }),
        ),
    ).toThrow(/pattern: unknown group \(\?<latncy>\)/);
  });

  it('throws when no model can be found and none is configured', () => {
    expect(
      () => new RegexLineParser(options({ pattern: '(?<latency>\\d+)' })),
    ).toThrow(/has no \(\?<model>\) group and the source has no default model/);
  });

  it('throws when a feedback pattern lacks the item or the action', () => {
    expect(
      () =>
        new RegexLineParser(
          options({ type: 'feedback', pattern: '(?<item>\\w+)' }),
        ),
    ).toThrow(/needs \(\?<item>\) and \(\?<action>\) groups/);
  });

  it('needs a pattern when built through createParser', () => {
    const s: SourceConfig = source();
    expect(() => createParser('regex', { source: s })).toThrow(
      /^pattern: required for format regex$/,
    );
    const p = createParser('regex', { source: s, pattern: '^(?<model>\\w+)$' });
    expect(p.parse('ranker', NOW)).toMatchObject({
      ok: true,
      event: { model: 'ranker', timeMs: NOW },
    });
  });
});

describe('RegexLineParser times', () => {
  it('refuses epoch digits too long to be an instant', () => {
    const parser = new RegexLineParser(
      options({ pattern: '^(?<time>\\d+) (?<model>\\w+)$', timeUnit: 's' }),
    );
    expect(parser.parse(`${'9'.repeat(400)} m`, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason: 'bad_time',
      field: 'time',
    });
  });
});
