import { describe, expect, it } from 'vitest';
import type {
  FeedbackEvent,
  InferenceEvent,
} from '../../src/formats/events.js';
import {
  AttributionJoin,
  type QualitySink,
} from '../../src/quality/attribution.js';

function list(over: Partial<InferenceEvent>): InferenceEvent {
  return {
    kind: 'inference',
    timeMs: 0,
    model: 'm',
    version: 'v1',
    scene: 'search',
    outcome: 'ok',
    items: [],
    ...over,
  };
}

function act(over: Partial<FeedbackEvent>): FeedbackEvent {
  return { kind: 'feedback', timeMs: 0, itemId: 'x', action: 'click', ...over };
}

/** Records what the join reports, as plain arrays. */
function recordingSink() {
  const calls = {
    lists: [] as Array<[number, number]>,
    relevant: [] as Array<[number, number, number, number]>,
    feedback: [] as string[],
    evicted: { age: 0, size: 0 },
  };
  const sink: QualitySink = {
    list: (id, n) => calls.lists.push([id, n]),
    relevant: (id, ordinal, rank, best) =>
      calls.relevant.push([id, ordinal, rank, best]),
    feedback: (action, attribution) =>
      calls.feedback.push(`${action}/${attribution}`),
    evicted: (reason, n) => (calls.evicted[reason] += n),
  };
  return { sink, calls };
}

describe('AttributionJoin', () => {
  it('credits feedback by request id first, then by user, once per item', () => {
    const { sink, calls } = recordingSink();
    const join = new AttributionJoin(
      { windowSeconds: 60, maxPendingLists: 10 },
      sink,
    );
    join.addList(
      list({ requestId: 'r1', userKey: 'u1', items: ['a', 'b', 'c', 'd'] }),
      7,
    );

    expect(
      join.addFeedback(act({ timeMs: 10_000, userKey: 'u1', itemId: 'c' })),
    ).toBe('user');
    expect(
      join.addFeedback(
        act({ timeMs: 20_000, requestId: 'r1', itemId: 'a', action: 'cart' }),
      ),
    ).toBe('request');
    expect(
      join.addFeedback(act({ timeMs: 30_000, userKey: 'u1', itemId: 'z' })),
    ).toBe('user');
    // The same item again is feedback, but not a new relevant item.
    expect(
      join.addFeedback(
        act({ timeMs: 31_000, userKey: 'u1', itemId: 'c', action: 'purchase' }),
      ),
    ).toBe('user');
    expect(
      join.addFeedback(act({ timeMs: 32_000, userKey: 'u2', itemId: 'a' })),
    ).toBe('none');
    // Past the 60 s window.
    expect(
      join.addFeedback(act({ timeMs: 60_001, userKey: 'u1', itemId: 'b' })),
    ).toBe('none');

    expect(calls.lists).toEqual([[7, 4]]);
    expect(calls.relevant).toEqual([
      [7, 1, 3, 0],
      [7, 2, 1, 3],
      [7, 3, 0, 1],
    ]);
    expect(calls.feedback).toEqual([
      'click/user',
      'cart/request',
      'click/user',
      'purchase/user',
      'click/none',
      'click/none',
    ]);
  });

  it('does not credit feedback that comes before its list', () => {
    const { sink } = recordingSink();
    const join = new AttributionJoin(
      { windowSeconds: 60, maxPendingLists: 10 },
      sink,
    );
    join.addList(list({ timeMs: 5_000, userKey: 'u1', items: ['a'] }), 0);
    expect(
      join.addFeedback(act({ timeMs: 4_999, userKey: 'u1', itemId: 'a' })),
    ).toBe('none');
    expect(
      join.addFeedback(act({ timeMs: 5_000, userKey: 'u1', itemId: 'a' })),
    ).toBe('user');
  });

  it('a user is joined to their latest list, a request id to its own', () => {
    const { sink, calls } = recordingSink();
    const join = new AttributionJoin(
      { windowSeconds: 600, maxPendingLists: 10 },
      sink,
    );
    join.addList(
      list({ timeMs: 0, requestId: 'r1', userKey: 'u1', items: ['a', 'b'] }),
      0,
    );
    join.addList(
      list({
        timeMs: 1_000,
        requestId: 'r2',
        userKey: 'u1',
        items: ['b', 'a'],
      }),
      1,
    );
    join.addFeedback(act({ timeMs: 2_000, userKey: 'u1', itemId: 'a' }));
    join.addFeedback(act({ timeMs: 2_000, requestId: 'r1', itemId: 'a' }));
    expect(calls.relevant).toEqual([
      [1, 1, 2, 0],
      [0, 1, 1, 0],
    ]);
  });

  it('evicts the oldest list when full, and lists older than the window', () => {
    const { sink, calls } = recordingSink();
    const join = new AttributionJoin(
      { windowSeconds: 60, maxPendingLists: 2 },
      sink,
    );
    join.addList(list({ timeMs: 0, userKey: 'u1', items: ['a'] }), 0);
    join.addList(list({ timeMs: 1_000, userKey: 'u2', items: ['a'] }), 0);
    join.addList(list({ timeMs: 2_000, userKey: 'u3', items: ['a'] }), 0);
    expect(calls.evicted).toEqual({ age: 0, size: 1 });
    expect(join.pending).toBe(2);
    expect(
      join.addFeedback(act({ timeMs: 3_000, userKey: 'u1', itemId: 'a' })),
    ).toBe('none');
    expect(
      join.addFeedback(act({ timeMs: 3_000, userKey: 'u2', itemId: 'a' })),
    ).toBe('user');

    // Lists alone never expire lists: feedback may still be on its way.
    join.addList(list({ timeMs: 61_500, userKey: 'u4', items: ['b'] }), 0);
    expect(calls.evicted).toEqual({ age: 0, size: 2 });
    // Feedback at 62.5 s moves the watermark past u3's list (2 s + 60 s).
    join.addFeedback(act({ timeMs: 62_500, userKey: 'u9', itemId: 'b' }));
    expect(calls.evicted).toEqual({ age: 1, size: 2 });
    expect(join.pending).toBe(1);
  });

  it('ignores lists with no items or no key to join on', () => {
    const { sink, calls } = recordingSink();
    const join = new AttributionJoin(
      { windowSeconds: 60, maxPendingLists: 2 },
      sink,
    );
    join.addList(list({ userKey: 'u1', items: [] }), 0);
    join.addList(list({ items: ['a'] }), 0);
    expect(calls.lists).toEqual([]);
    expect(join.pending).toBe(0);
  });

  it('keeps ranks right while its item store grows and wraps', () => {
    const { sink, calls } = recordingSink();
    const capacity = 300;
    const join = new AttributionJoin(
      { windowSeconds: 1e6, maxPendingLists: capacity },
      sink,
    );
    const itemsOf = (n: number) =>
      Array.from({ length: 7 }, (_, i) => `item-${n}-${i}`);
    for (let n = 0; n < 1000; n++) {
      join.addList(list({ timeMs: n, userKey: `u${n}`, items: itemsOf(n) }), n);
    }
    expect(join.pending).toBe(capacity);
    expect(calls.evicted.size).toBe(1000 - capacity);
    // Oldest live list is 700; check its rank 6 and the newest's rank 2.
    join.addFeedback(
      act({ timeMs: 2_000, userKey: 'u700', itemId: 'item-700-5' }),
    );
    join.addFeedback(
      act({ timeMs: 2_000, userKey: 'u999', itemId: 'item-999-1' }),
    );
    join.addFeedback(
      act({ timeMs: 2_000, userKey: 'u699', itemId: 'item-699-0' }),
    );
    expect(calls.relevant).toEqual([
      [700, 1, 6, 0],
      [999, 1, 2, 0],
    ]);
  });

  it('rejects a window or size that cannot work', () => {
    const { sink } = recordingSink();
    expect(
      () => new AttributionJoin({ windowSeconds: 0, maxPendingLists: 1 }, sink),
    ).toThrow(/window_seconds/);
    expect(
      () => new AttributionJoin({ windowSeconds: 1, maxPendingLists: 0 }, sink),
    ).toThrow(/max_pending_lists/);
  });
});

describe('AttributionJoin and clocks', () => {
  it('does not let a time far ahead of the wall clock expire the lists that follow', () => {
    const { sink, calls } = recordingSink();
    const wall = Date.UTC(2026, 0, 1);
    const join = new AttributionJoin(
      { windowSeconds: 1800, maxPendingLists: 10, now: () => wall },
      sink,
    );
    join.addFeedback(
      act({ timeMs: Date.UTC(9999, 0, 1), userKey: 'u9', itemId: 'a' }),
    );
    join.addList(list({ timeMs: wall, requestId: 'r1', items: ['a', 'b'] }), 0);
    expect(
      join.addFeedback(
        act({ timeMs: wall + 1000, requestId: 'r1', itemId: 'a' }),
      ),
    ).toBe('request');
    expect(calls.evicted).toEqual({ age: 0, size: 0 });
    expect(calls.relevant).toEqual([[0, 1, 1, 0]]);
  });
});
