import { Listeners, unsubscribeOnAbort } from '@disco/core/provider';
import { describe, expect, it } from 'vitest';

describe('Listeners', () => {
  it('emits to every listener, lets a listener unsubscribe itself, and isolates one that throws', () => {
    const errors: unknown[] = [];
    const listeners = new Listeners<number>((e) => errors.push(e));
    const seen: string[] = [];
    const stopA = listeners.add((n) => {
      seen.push(`a${n}`);
      stopA();
    });
    listeners.add(() => {
      throw new Error('boom');
    });
    listeners.add((n) => seen.push(`c${n}`));
    listeners.emit(1);
    listeners.emit(2);
    expect(seen).toEqual(['a1', 'c1', 'c2']);
    expect(errors).toHaveLength(2);
    expect(listeners.size).toBe(2);
    listeners.clear();
    expect(listeners.size).toBe(0);
  });

  it('skips a listener unsubscribed earlier in the same broadcast; the same function added twice is two subscriptions', () => {
    const listeners = new Listeners<number>();
    const seen: string[] = [];
    let stopB: () => void = () => {};
    listeners.add(() => {
      seen.push('a');
      stopB();
    });
    stopB = listeners.add(() => seen.push('b'));
    const twice = () => seen.push('t');
    const stopT1 = listeners.add(twice);
    listeners.add(twice);
    listeners.emit(1);
    stopT1();
    listeners.emit(2);
    expect(seen).toEqual(['a', 't', 't', 'a', 't']);
  });

  it('without an error handler a throwing listener throws to the emitter', () => {
    const listeners = new Listeners<void>();
    listeners.add(() => {
      throw new Error('boom');
    });
    expect(() => listeners.emit()).toThrow('boom');
  });
});

describe('unsubscribeOnAbort', () => {
  it('unsubscribes once, on abort or on call, and detaches from the signal', () => {
    let calls = 0;
    const controller = new AbortController();
    const stop = unsubscribeOnAbort(controller.signal, () => calls++);
    controller.abort();
    stop();
    expect(calls).toBe(1);

    let second = 0;
    const other = new AbortController();
    unsubscribeOnAbort(other.signal, () => second++)();
    other.abort();
    expect(second).toBe(1);
    expect(unsubscribeOnAbort(undefined, () => second++)).toBeTypeOf('function');
  });
});
