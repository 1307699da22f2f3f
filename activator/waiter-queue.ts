// A bounded FIFO with O(1) push, shift and removal from the middle (a waiter whose client went away).

/** A node in the queue; the queue owns `prev`/`next`/`queued`. */
export interface QueueNode {
  prev: QueueNode | undefined;
  next: QueueNode | undefined;
  queued: boolean;
}

/** Intrusive doubly linked list: nodes carry their own links, so queueing allocates nothing extra. */
export class WaiterQueue<T extends QueueNode> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.capacity;
  }

  /** Appends; returns false (and does nothing) when full. */
  push(node: T): boolean {
    if (this.isFull) return false;
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    node.queued = true;
    this.count++;
    return true;
  }

  /** Prepends (a request that must be retried keeps its turn); returns false when full. */
  unshift(node: T): boolean {
    if (this.isFull) return false;
    node.prev = undefined;
    node.next = this.head;
    if (this.head) this.head.prev = node;
    else this.tail = node;
    this.head = node;
    node.queued = true;
    this.count++;
    return true;
  }

  peek(): T | undefined {
    return this.head;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node) this.remove(node);
    return node;
  }

  /** Removes `node` if it is queued; returns whether it was. */
  remove(node: T): boolean {
    if (!node.queued) return false;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next as T | undefined;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev as T | undefined;
    node.prev = undefined;
    node.next = undefined;
    node.queued = false;
    this.count--;
    return true;
  }
}
