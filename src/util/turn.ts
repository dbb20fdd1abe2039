/**
 * One turn of the event loop. Node runs the N-API finalizers of collected native buffers (the
 * engine's `alloc`) from the event loop, not during garbage collection, so a long synchronous
 * computation that drops models or activations must yield between its steps or that memory is
 * never returned (a study of many stages grew to 24 GB and was killed before this).
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
