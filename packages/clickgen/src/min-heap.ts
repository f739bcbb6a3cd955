/** A binary min-heap ordered by a comparator (negative: `a` comes first). */
export interface MinHeap<T> {
  readonly size: number;
  push(item: T): void;
  peek(): T | undefined;
  pop(): T | undefined;
}

/** Creates an empty heap. Ties must be broken by the comparator for a deterministic order. */
export function createMinHeap<T>(compare: (a: T, b: T) => number): MinHeap<T> {
  const items: T[] = [];
  const at = (index: number): T => items[index] as T;
  const swap = (i: number, j: number): void => {
    const itemI = at(i);
    items[i] = at(j);
    items[j] = itemI;
  };
  return {
    get size() {
      return items.length;
    },
    push(item) {
      items.push(item);
      let child = items.length - 1;
      while (child > 0) {
        const parent = (child - 1) >>> 1;
        if (compare(at(child), at(parent)) >= 0) break;
        swap(child, parent);
        child = parent;
      }
    },
    peek: () => items[0],
    pop() {
      const top = items[0];
      const last = items.pop();
      if (items.length === 0 || last === undefined) return top;
      items[0] = last;
      let parent = 0;
      for (;;) {
        const left = parent * 2 + 1;
        const right = left + 1;
        let smallest = parent;
        if (left < items.length && compare(at(left), at(smallest)) < 0) smallest = left;
        if (right < items.length && compare(at(right), at(smallest)) < 0) smallest = right;
        if (smallest === parent) break;
        swap(parent, smallest);
        parent = smallest;
      }
      return top;
    },
  };
}
