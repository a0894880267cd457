// The pure core's contract: Ready/advance, a single voter, options validation, determinism.
import { describe, expect, it } from 'vitest';
import { bootstrapState, RaftCore } from '../../src/raft/core.js';
import { SeededRandom } from '../../src/raft/random.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { runSeed } from '../sim/run-seed.js';

function single(): RaftCore {
  return new RaftCore({ id: 'a', random: new SeededRandom(1) }, bootstrapState([{ id: 'a' }]));
}

describe('RaftCore', () => {
  it('a single voter elects itself on timeout and commits proposals on its own', () => {
    const core = single();
    for (let i = 0; i < 20 && core.role !== 'leader'; i++) core.tick();
    expect(core.role).toBe('leader');
    const r = core.propose('x');
    expect(r.ok).toBe(true);
    const rd = core.ready();
    expect(rd.softState?.role).toBe('leader');
    expect(rd.hardState?.term).toBe(2);
    expect(rd.entries.map((e) => e.kind)).toEqual(['noop', 'command']);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    core.advance();
    expect(core.hasReady()).toBe(false);
    expect(core.appliedIndex).toBe(3);
  });

  it('quietTicks: the ticks it names only count time, and the one after them acts', () => {
    // A follower: nothing until its election timeout, then a campaign (a Ready to hand out).
    const follower = new RaftCore({ id: 'b', random: new SeededRandom(3) }, bootstrapState([{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
    while (follower.hasReady()) {
      follower.ready();
      follower.advance();
    }
    const quiet = follower.quietTicks();
    for (let i = 0; i < quiet; i++) {
      follower.tick();
      expect(follower.hasReady()).toBe(false);
    }
    follower.tick();
    expect(follower.hasReady()).toBe(true);
    // A leader of one with nothing to send: only its check-quorum timeout acts, electionTicks - 1 quiet ticks.
    const alone = single();
    for (let i = 0; i < 20 && alone.role !== 'leader'; i++) alone.tick();
    while (alone.hasReady()) {
      alone.ready();
      alone.advance();
    }
    expect(alone.role).toBe('leader');
    expect(alone.quietTicks()).toBeGreaterThan(1);
    // With check-quorum over more ticks than the election timeout (the scheduler's 600 ms against
    // 150-300 ms), a leader of one sleeps to its quorum timeout: its election timeout acts only on a transfer.
    const patient = new RaftCore({ id: 'a', random: new SeededRandom(1), electionTicks: 15, heartbeatTicks: 5, quorumTicks: 60, checkQuorum: true }, bootstrapState([{ id: 'a' }]));
    for (let i = 0; i < 40 && patient.role !== 'leader'; i++) patient.tick();
    while (patient.hasReady()) {
      patient.ready();
      patient.advance();
    }
    expect(patient.role).toBe('leader');
    const sleep = patient.quietTicks();
    expect(sleep).toBeGreaterThanOrEqual(15);
    for (let i = 0; i < sleep; i++) {
      patient.tick();
      expect(patient.hasReady()).toBe(false);
    }
    expect(patient.role).toBe('leader');
  });

  it('Raft thesis §6.2: a leader that hears no majority steps down after quorumTicks (by default one election timeout)', () => {
    /** Leader `a` of a, b, c, elected with b's votes; then nobody answers it. */
    const leaderOfThree = (quorumTicks?: number): RaftCore => {
      const a = new RaftCore({ id: 'a', random: new SeededRandom(1), electionTicks: 10, heartbeatTicks: 2, ...(quorumTicks === undefined ? {} : { quorumTicks }) }, bootstrapState([{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
      const drain = () => {
        while (a.hasReady()) {
          a.ready();
          a.advance();
        }
      };
      drain();
      a.campaign();
      drain();
      a.step({ type: 'preVoteResponse', from: 'b', to: 'a', term: a.term + 1, reject: false });
      drain();
      a.step({ type: 'voteResponse', from: 'b', to: 'a', term: a.term, reject: false });
      drain();
      expect(a.role).toBe('leader');
      return a;
    };
    const ticks = (core: RaftCore, n: number) => {
      for (let i = 0; i < n; i++) {
        core.tick();
        while (core.hasReady()) {
          core.ready();
          core.advance();
        }
      }
    };
    const byDefault = leaderOfThree();
    ticks(byDefault, 10);
    expect(byDefault.role).toBe('follower');
    // b's vote counted as contact once; a window with no answer at all is what deposes it.
    const patient = leaderOfThree(40);
    ticks(patient, 39);
    expect(patient.role).toBe('leader');
    ticks(patient, 1);
    expect(patient.role).toBe('follower');
    expect(() => new RaftCore({ id: 'a', random: new SeededRandom(1), quorumTicks: 0 }, bootstrapState([{ id: 'a' }]))).toThrow('quorumTicks must be a positive integer, got 0');
  });

  it('refuses input between ready() and advance()', () => {
    const core = single();
    core.campaign();
    core.ready();
    expect(() => core.tick()).toThrow(/between ready\(\) and advance\(\)/);
    expect(() => core.propose('x')).toThrow(/advance/);
    core.advance();
    expect(() => core.advance()).toThrow(/without a ready/);
  });

  it('a follower refuses proposals and says who leads (when known)', () => {
    const core = new RaftCore({ id: 'b', random: new SeededRandom(1) }, bootstrapState([{ id: 'a' }, { id: 'b' }]));
    core.step({ type: 'heartbeat', from: 'a', to: 'b', term: 2, commit: 0, context: '' });
    expect(core.propose('x')).toMatchObject({ ok: false, reason: 'not-leader', leaderId: 'a' });
  });

  it('validates its options with exact messages', () => {
    const random = new SeededRandom(1);
    const state = bootstrapState([{ id: 'a' }]);
    expect(() => new RaftCore({ id: '', random }, state)).toThrow('id must be a non-empty string, got ""');
    expect(() => new RaftCore({ id: 'a', random, electionTicks: 2, heartbeatTicks: 2 }, state)).toThrow('heartbeatTicks (2) must be smaller than electionTicks (2)');
    expect(() => new RaftCore({ id: 'a', random, electionTicks: 0 }, state)).toThrow('electionTicks must be a positive integer, got 0');
    expect(() => bootstrapState([{ id: 'a' }, { id: 'a' }])).toThrow(/unique/);
  });

  it('persists what a restart needs: a restarted single voter keeps term, vote and log', () => {
    const storage = new MemoryStorage(bootstrapState([{ id: 'a' }]));
    const core = new RaftCore({ id: 'a', random: new SeededRandom(1) }, storage.load());
    core.campaign();
    core.propose('x');
    const rd = core.ready();
    storage.save({ ...(rd.hardState ? { hardState: rd.hardState } : {}), entries: rd.entries });
    core.advance();
    const again = new RaftCore({ id: 'a', random: new SeededRandom(2) }, storage.load());
    expect([again.term, again.vote, again.lastIndex, again.commitIndex]).toEqual([core.term, 'a', 3, 3]);
  });

  it('a node that may not lead starts no election at its timeout, and does once it may again', () => {
    const core = single();
    core.setMayLead(false);
    for (let i = 0; i < 100; i++) core.tick();
    expect(core.role).toBe('follower');
    expect(core.term).toBe(1);
    core.setMayLead(true);
    for (let i = 0; i < 20 && core.role !== 'leader'; i++) core.tick();
    expect(core.role).toBe('leader');
  });

  it('a node that may not lead ignores a TimeoutNow (Raft thesis §3.10) but still grants its vote', () => {
    const core = new RaftCore({ id: 'b', random: new SeededRandom(1) }, bootstrapState([{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
    core.setMayLead(false);
    core.step({ type: 'timeoutNow', from: 'a', to: 'b', term: 1 });
    expect(core.role).toBe('follower');
    expect(core.term).toBe(1);
    core.step({ type: 'vote', from: 'c', to: 'b', term: 2, lastIndex: 10, lastTerm: 1, transfer: false });
    const rd = core.ready();
    expect(rd.messages).toContainEqual(expect.objectContaining({ type: 'voteResponse', to: 'c', reject: false }));
    core.advance();
  });

  it('is deterministic: a seed replays the same run', () => {
    expect(runSeed({ seed: 42, nodes: 3, chaosMs: 5000 })).toEqual(runSeed({ seed: 42, nodes: 3, chaosMs: 5000 }));
  });
});
