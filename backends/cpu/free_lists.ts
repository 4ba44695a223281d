/**
 * The free lists of the float32 storage pool (storage.ts): recycled arrays by length, at most
 * `capBytes` in all.
 *
 * When a recycled array does not fit, room is made by dropping arrays of stale lengths: lengths
 * nobody has asked for during the last `capBytes` of requests. A length still in use within a
 * cycle that fits the pool (a training step's activations) is never stale, so a steady loop keeps
 * what it has; a length left behind (the previous benchmark shape, a finished evaluation pass)
 * makes way for the new ones. Without that, a pool filled by earlier shapes turned every later
 * array away: `xt bench matmul`'s 400×2048 outputs were all fresh (page faults on each call),
 * and the product ran at about half speed.
 */
export class FreeLists {
  private readonly lists = new Map<number, Float32Array[]>();
  /** Bytes requested so far, and per length that count when it was last requested. */
  private requested = 0;
  private readonly lastAsked = new Map<number, number>();
  /** `requested` when a search for stale lengths last found none. */
  private noneStaleAt = -1;
  bytes = 0;

  constructor(readonly capBytes: number) {}

  /** A recycled array of `length` floats, or undefined; records the request either way. */
  take(length: number): Float32Array | undefined {
    this.requested += 4 * length;
    this.lastAsked.set(length, this.requested);
    const a = this.lists.get(length)?.pop();
    if (a) this.bytes -= a.byteLength;
    return a;
  }

  /** Keeps `a` for a later take; false when it cannot be made to fit. */
  put(a: Float32Array): boolean {
    if (this.bytes + a.byteLength > this.capBytes) this.dropStale(a.length, this.bytes + a.byteLength - this.capBytes);
    if (this.bytes + a.byteLength > this.capBytes) return false;
    let list = this.lists.get(a.length);
    if (!list) this.lists.set(a.length, (list = []));
    list.push(a);
    this.bytes += a.byteLength;
    return true;
  }

  /** Drops arrays of stale lengths other than `keep` until `need` bytes are freed (or none are left). */
  private dropStale(keep: number, need: number): void {
    // Nothing has been requested since the last fruitless search: nothing new can be stale.
    if (this.noneStaleAt === this.requested) return;
    let freed = 0;
    for (const [length, list] of this.lists) {
      if (freed >= need) return;
      if (length === keep || this.requested - (this.lastAsked.get(length) ?? 0) <= this.capBytes) continue;
      while (list.length > 0 && freed < need) {
        const a = list.pop()!;
        this.bytes -= a.byteLength;
        freed += a.byteLength;
      }
      if (list.length === 0) {
        this.lists.delete(length);
        this.lastAsked.delete(length);
      }
    }
    if (freed < need) this.noneStaleAt = this.requested;
  }
}
