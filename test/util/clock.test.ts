/**
 * The clocks: ManualClock fires due timers in deadline order (ties in creation order) and only
 * when advanced; SystemClock is monotonic and really fires.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { ManualClock, SystemClock } from '../../src/util/clock.js';

describe('ManualClock', () => {
  it('starts where told and moves only when advanced', () => {
    const clock = new ManualClock(1000);
    expect(clock.nowMs()).toBe(1000);
    clock.advance(250);
    expect(clock.nowMs()).toBe(1250);
    clock.advance(0);
    expect(clock.nowMs()).toBe(1250);
    expect(new ManualClock().nowMs()).toBe(0);
  });

  it('fires due timers in deadline order, ties in creation order, each at its deadline', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${clock.nowMs()}`);
    clock.setTimer(30, at('c'));
    clock.setTimer(10, at('a1'));
    clock.setTimer(20, at('b'));
    clock.setTimer(10, at('a2'));
    clock.setTimer(-5, at('now')); // a negative delay means now
    clock.setTimer(31, at('late'));
    clock.advance(30);
    expect(fired).toEqual(['now@0', 'a1@10', 'a2@10', 'b@20', 'c@30']);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(1);
    expect(fired.at(-1)).toBe('late@31');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('does not fire a timer before its deadline', () => {
    const clock = new ManualClock();
    let fired = 0;
    clock.setTimer(10, () => fired++);
    clock.advance(9);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    clock.advance(100);
    expect(fired).toBe(1); // once only
  });

  it('a cancelled timer never fires; cancelling twice or after firing is harmless', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const keep = clock.setTimer(5, () => fired.push('keep'));
    const drop = clock.setTimer(5, () => fired.push('drop'));
    drop.cancel();
    drop.cancel();
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(10);
    keep.cancel();
    expect(fired).toEqual(['keep']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a timer can cancel a later one that is due in the same advance', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(1, () => {
      fired.push('first');
      second.cancel();
    });
    const second = clock.setTimer(2, () => fired.push('second'));
    clock.advance(5);
    expect(fired).toEqual(['first']);
  });

  it('timers set by a firing timer fire in the same advance if due, in deadline order', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(10, () => {
      fired.push(`parent@${clock.nowMs()}`);
      clock.setTimer(0, () => fired.push(`child0@${clock.nowMs()}`));
      clock.setTimer(5, () => fired.push(`child5@${clock.nowMs()}`));
      clock.setTimer(50, () => fired.push(`child50@${clock.nowMs()}`));
    });
    clock.setTimer(12, () => fired.push(`other@${clock.nowMs()}`));
    clock.advance(20);
    expect(fired).toEqual(['parent@10', 'child0@10', 'other@12', 'child5@15']);
    expect(clock.nowMs()).toBe(20);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(40);
    expect(fired.at(-1)).toBe('child50@60');
  });

  it('never moves back when a callback advances the clock past the outer target', () => {
    const clock = new ManualClock();
    clock.setTimer(5, () => clock.advance(100));
    clock.advance(10);
    expect(clock.nowMs()).toBe(105);
  });

  it('refuses to go backwards or to take a NaN delay', () => {
    const clock = new ManualClock(50);
    expect(() => clock.advance(-1)).toThrow(InvalidArgumentError);
    expect(() => clock.advance(Number.NaN)).toThrow(InvalidArgumentError);
    expect(clock.nowMs()).toBe(50);
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(InvalidArgumentError);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('SystemClock', () => {
  it('nowMs never decreases', () => {
    const clock = new SystemClock();
    let last = clock.nowMs();
    for (let i = 0; i < 10_000; i++) {
      const now = clock.nowMs();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
  });

  it('setTimer fires after at least the delay, and cancel stops it', async () => {
    const clock = new SystemClock();
    const start = clock.nowMs();
    let cancelledFired = false;
    clock.setTimer(5, () => (cancelledFired = true)).cancel();
    const elapsed = await new Promise<number>((resolve) => clock.setTimer(20, () => resolve(clock.nowMs() - start)));
    // setTimeout may fire up to ~1 ms early against performance.now (different clocks).
    expect(elapsed).toBeGreaterThanOrEqual(19);
    expect(cancelledFired).toBe(false);
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(InvalidArgumentError);
  });
});
