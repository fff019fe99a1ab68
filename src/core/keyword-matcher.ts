// Matching every user's feed keywords against one new message in time that depends on the message, not on how
// many keywords everyone keeps: an Aho–Corasick automaton over normalized text. Built once from all keywords
// (rebuilt when a filter changes); one pass over a message's text finds every keyword it contains.
// Pure: no I/O.

/** The form keywords and text are compared in: NFKC, case-folded (so "ＳＴＲＡＳＳＥ" finds "straße"). */
export function normalizeForMatch(s: string): string {
  return s.normalize('NFKC').toUpperCase().toLowerCase();
}

interface Node {
  next: Map<string, number>;
  fail: number;
  /** Payload indexes of keywords ending here (including those reached through fail links). */
  out: number[];
}

export class KeywordMatcher<T> {
  private readonly nodes: Node[] = [{ next: new Map(), fail: 0, out: [] }];
  private readonly payloads: T[] = [];

  /** `entries`: each keyword with what a match of it stands for (a filter, say). Empty keywords are ignored. */
  constructor(entries: Iterable<{ keyword: string; payload: T }>) {
    for (const { keyword, payload } of entries) {
      const k = normalizeForMatch(keyword);
      if (k.length === 0) continue;
      let at = 0;
      for (const ch of k) {
        const node = this.nodes[at] as Node;
        let to = node.next.get(ch);
        if (to === undefined) {
          to = this.nodes.length;
          this.nodes.push({ next: new Map(), fail: 0, out: [] });
          node.next.set(ch, to);
        }
        at = to;
      }
      (this.nodes[at] as Node).out.push(this.payloads.length);
      this.payloads.push(payload);
    }
    this.link();
  }

  /** Breadth-first fail links; each node's outputs gain those of its fail target. */
  private link(): void {
    const queue: number[] = [];
    for (const to of (this.nodes[0] as Node).next.values()) queue.push(to);
    for (let qi = 0; qi < queue.length; qi++) {
      const at = queue[qi] as number;
      const node = this.nodes[at] as Node;
      for (const [ch, to] of node.next) {
        let f = node.fail;
        while (f !== 0 && !(this.nodes[f] as Node).next.has(ch)) f = (this.nodes[f] as Node).fail;
        const target = (this.nodes[f] as Node).next.get(ch);
        const child = this.nodes[to] as Node;
        child.fail = target !== undefined && target !== to ? target : 0;
        child.out.push(...(this.nodes[child.fail] as Node).out);
        queue.push(to);
      }
    }
  }

  get size(): number {
    return this.payloads.length;
  }

  /** Every payload whose keyword occurs in `text` (each once), in the order keywords were given. */
  match(text: string): T[] {
    const hit = new Set<number>();
    let at = 0;
    for (const ch of normalizeForMatch(text)) {
      while (at !== 0 && !(this.nodes[at] as Node).next.has(ch)) at = (this.nodes[at] as Node).fail;
      at = (this.nodes[at] as Node).next.get(ch) ?? 0;
      for (const i of (this.nodes[at] as Node).out) hit.add(i);
    }
    const seen = new Set<T>();
    for (const i of [...hit].sort((a, b) => a - b)) seen.add(this.payloads[i] as T);
    return [...seen];
  }
}
