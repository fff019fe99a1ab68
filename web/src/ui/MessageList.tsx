// A virtualised message list: only the rows near the viewport are in the DOM, each placed at its offset
// (measured heights, estimated until measured), so a room with a million messages scrolls as one with
// fifty. Scrolling near the top asks for the previous page (by id); prepended rows keep the reading
// position; at the bottom it follows live messages.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { MessageView } from '../../../src/client/index.js';

const ESTIMATE = 64;
const OVERSCAN = 600;

interface Props {
  items: MessageView[];
  label: string;
  focusId: number | null;
  onNearTop(): void;
  onNearBottom(): void;
  onSeen(newestVisibleId: number): void;
  renderItem(m: MessageView): ComponentChildren;
}

export function MessageList({ items, label, focusId, onNearTop, onNearBottom, onSeen, renderItem }: Props) {
  const scroller = useRef<HTMLElement>(null);
  const heights = useRef(new Map<number, number>());
  const [measureTick, setMeasureTick] = useState(0);
  const [view, setView] = useState({ top: 0, height: 600 });
  const stick = useRef(true);
  const anchor = useRef<{ id: number; delta: number } | null>(null);
  const focused = useRef<number | null>(null);

  const offsets = useMemo(() => {
    const o = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++)
      o[i + 1] = (o[i] as number) + (heights.current.get((items[i] as MessageView).id) ?? ESTIMATE);
    return o;
  }, [items, measureTick]);
  const total = offsets[items.length] as number;
  const indexOf = useMemo(() => new Map(items.map((m, i) => [m.id, i])), [items]);

  // The first row whose bottom is below y.
  const rowAt = (y: number) => {
    let lo = 0;
    let hi = items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((offsets[mid + 1] as number) <= y) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo);
  };

  const first = items.length ? rowAt(Math.max(0, view.top - OVERSCAN)) : 0;
  const last = items.length ? rowAt(view.top + view.height + OVERSCAN) : -1;

  const remember = (el: HTMLElement) => {
    stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
    if (items.length) {
      const i = rowAt(el.scrollTop);
      const m = items[i] as MessageView;
      anchor.current = { id: m.id, delta: el.scrollTop - (offsets[i] as number) };
    }
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    remember(el);
    setView({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < 400) onNearTop();
    if (el.scrollTop + el.clientHeight > el.scrollHeight - 400) onNearBottom();
    const bottomRow = items[rowAt(el.scrollTop + el.clientHeight - 1)];
    if (bottomRow) onSeen(bottomRow.id);
  };

  // After every change of rows or heights: keep the bottom, or keep the anchor row where it was.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (focusId !== null && focused.current !== focusId && indexOf.has(focusId)) {
      focused.current = focusId;
      const i = indexOf.get(focusId) as number;
      el.scrollTop = Math.max(0, (offsets[i] as number) - el.clientHeight / 3);
      stick.current = false;
      remember(el);
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const i = indexOf.get(anchor.current.id);
      if (i !== undefined) el.scrollTop = (offsets[i] as number) + anchor.current.delta;
    }
    setView((v) =>
      v.top === el.scrollTop && v.height === el.clientHeight ? v : { top: el.scrollTop, height: el.clientHeight },
    );
    const newest = items[rowAt(el.scrollTop + el.clientHeight - 1)];
    if (newest) onSeen(newest.id);
  }, [offsets, focusId]);

  // Row heights, as laid out.
  const observer = useMemo(
    () =>
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver((entries) => {
            let changed = false;
            for (const e of entries) {
              const el = e.target as HTMLElement;
              const id = Number(el.dataset.id);
              const h = el.offsetHeight;
              if (h > 0 && heights.current.get(id) !== h) {
                heights.current.set(id, h);
                changed = true;
              }
            }
            if (changed) setMeasureTick((x) => x + 1);
          }),
    [],
  );
  useEffect(() => () => observer?.disconnect(), [observer]);
  useEffect(() => {
    const fn = () => {
      const el = scroller.current;
      if (el) setView({ top: el.scrollTop, height: el.clientHeight });
    };
    addEventListener('resize', fn);
    return () => removeEventListener('resize', fn);
  }, []);

  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last && i < items.length; i++) {
    const m = items[i] as MessageView;
    rows.push(
      <Row key={m.id} id={m.id} top={offsets[i] as number} observer={observer} focus={m.id === focusId}>
        {renderItem(m)}
      </Row>,
    );
  }

  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section class="msglist" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label={label}>
      <ul class="msglist-inner" style={{ height: `${total}px` }}>
        {rows}
      </ul>
    </section>
  );
}

function Row({
  id,
  top,
  observer,
  focus,
  children,
}: {
  id: number;
  top: number;
  observer: ResizeObserver | null;
  focus: boolean;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !observer) return;
    observer.observe(el);
    return () => observer.unobserve(el);
  }, [observer]);
  return (
    <li
      ref={ref}
      class={focus ? 'msgrow focus' : 'msgrow'}
      data-id={String(id)}
      style={{ transform: `translateY(${top}px)` }}
    >
      {children}
    </li>
  );
}
