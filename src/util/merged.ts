/**
 * `{ ...a, ...b }` for objects on hot paths. Objects made by spread get a fresh
 * hidden class after a while in V8 (Node 20: two records of the same shape
 * stop sharing a map after ~1,000 spreads), and every property read of such
 * objects then misses its inline cache: on a busy journal that was ~6% of
 * the main thread, in IC misses and map copies. Object.assign keeps one class.
 * It *sets* `__proto__` where spread defines it as a member, so an object with
 * an own `__proto__` member (JSON.parse makes those) takes the spread.
 */
export function merged<A extends object, B extends object>(a: A, b: B): A & B {
  if (Object.hasOwn(a, '__proto__') || Object.hasOwn(b, '__proto__')) return { ...a, ...b };
  return Object.assign({}, a, b);
}
