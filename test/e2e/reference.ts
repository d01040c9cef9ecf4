/**
 * An independent, brute-force computation of the quality counters from a
 * log file, written without the exporter's join: for each feedback line it
 * scans every earlier inference line of the same user.
 */
export interface ReferenceCounts {
  lists: number;
  recommended: number;
  relevant: number;
  hits: number;
  hitsAt: Record<number, number>;
  dcgAt: Record<number, number>;
  idealDcgAt: Record<number, number>;
  listsHitAt: Record<number, number>;
  requests: number;
}

interface Served {
  time: number;
  user: string;
  key: string;
  items: string[];
  acted: string[];
}

export function referenceQuality(
  lines: string[],
  windowSeconds: number,
  ks: number[],
): Map<string, ReferenceCounts> {
  const byKey = new Map<string, ReferenceCounts>();
  const served: Served[] = [];
  const counts = (key: string) => {
    let c = byKey.get(key);
    if (!c) {
      const zero = () => Object.fromEntries(ks.map((k) => [k, 0]));
      c = {
        lists: 0,
        recommended: 0,
        relevant: 0,
        hits: 0,
        hitsAt: zero(),
        dcgAt: zero(),
        idealDcgAt: zero(),
        listsHitAt: zero(),
        requests: 0,
      };
      byKey.set(key, c);
    }
    return c;
  };
  for (const line of lines) {
    if (line === '') continue;
    const e = JSON.parse(line);
    const time = Date.parse(e.time);
    if (e.type === 'inference') {
      const key = `${e.model}/${e.model_version}/${e.scene}`;
      counts(key).requests++;
      if (e.items.length === 0) continue;
      served.push({ time, user: e.user, key, items: e.items, acted: [] });
      counts(key).lists++;
      counts(key).recommended += e.items.length;
      continue;
    }
    // The latest list for this user, no later than the action, within the window.
    let list: Served | undefined;
    for (let i = served.length - 1; i >= 0; i--) {
      if (served[i]!.user === e.user && served[i]!.time <= time) {
        list = served[i];
        break;
      }
    }
    if (
      !list ||
      time - list.time > windowSeconds * 1000 ||
      list.acted.includes(e.item)
    )
      continue;
    list.acted.push(e.item);
    const c = counts(list.key);
    c.relevant++;
    const rank = list.items.indexOf(e.item) + 1;
    if (rank > 0) c.hits++;
    for (const k of ks) {
      if (list.acted.length <= k)
        c.idealDcgAt[k]! += 1 / Math.log2(list.acted.length + 1);
      if (rank > 0 && rank <= k) {
        c.hitsAt[k]!++;
        c.dcgAt[k]! += 1 / Math.log2(rank + 1);
        const earlier = list.acted.slice(0, -1).some((it) => {
          const r = list!.items.indexOf(it) + 1;
          return r > 0 && r <= k;
        });
        if (!earlier) c.listsHitAt[k]!++;
      }
    }
  }
  return byKey;
}
