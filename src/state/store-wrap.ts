// A Store that passes every call to another one, but those it is given: how tests put a fault (a
// stalled renewal, a cut watch, a held lease) in front of a real store.
import type { Store } from "./store.ts";

/** `store` with the methods of `over` in place of its own. */
export function wrapStore(store: Store, over: Partial<Store> = {}): Store {
  return {
    revision: () => store.revision(),
    get: (k) => store.get(k),
    range: (p, o) => store.range(p, o),
    put: (k, v, o) => store.put(k, v, o),
    delete: (k) => store.delete(k),
    txn: (r) => store.txn(r),
    watch: (p, from, on, err, o) => store.watch(p, from, on, err, o),
    grantLease: (ttl) => store.grantLease(ttl),
    keepAlive: (l) => store.keepAlive(l),
    revokeLease: (l) => store.revokeLease(l),
    close: () => store.close(),
    ...over,
  };
}
