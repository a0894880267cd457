// `ringpool submit --option k=v --options JSON`: values read sensibly, checked by the API's schema, a bad option named before anything is sent.
import { describe, expect, it } from 'vitest';
import { jobOptionsFromFlags, optionValue } from '../../src/cli/job-option-flags.js';

/** The error `jobOptionsFromFlags` throws for these flags (fails the test if none). */
function refusal(options: string | undefined, option?: string[]): { code: string; message: string } {
  try {
    jobOptionsFromFlags(options, option);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`expected --options ${options} --option ${option?.join(' ')} to be refused`);
}

describe('job options from the command line', () => {
  it('none given: no options (the submission carries none, as before)', () => {
    expect(jobOptionsFromFlags(undefined, undefined)).toBeUndefined();
    expect(jobOptionsFromFlags(undefined, [])).toBeUndefined();
  });

  it('--option values are numbers, booleans or JSON where they read as such, strings otherwise', () => {
    expect(optionValue('5')).toBe(5);
    expect(optionValue('2.5')).toBe(2.5);
    expect(optionValue('-1')).toBe(-1);
    expect(optionValue('true')).toBe(true);
    expect(optionValue('false')).toBe(false);
    expect(optionValue('{"a":1}')).toEqual({ a: 1 });
    expect(optionValue('fast')).toBe('fast');
    expect(optionValue('0x10')).toBe('0x10');
    expect(optionValue('')).toBe('');
  });

  it('--option key=value, repeated, over --options JSON; a later --option wins', () => {
    expect(jobOptionsFromFlags('{"retries":1,"resultTtlSec":120}', ['retries=5', 'taskTimeoutMs=2500', 'batchSize = 10', 'taskTimeoutMs=3000'])).toEqual({
      retries: 5,
      taskTimeoutMs: 3_000,
      batchSize: 10,
      resultTtlSec: 120,
    });
    expect(jobOptionsFromFlags('{"taskMemoryMb":64}', undefined)).toEqual({ taskMemoryMb: 64 });
    expect(jobOptionsFromFlags(undefined, ['retries=0'])).toEqual({ retries: 0 });
  });

  it('a value the API would refuse is refused here, naming the option, what it expects and what arrived', () => {
    expect(refusal(undefined, ['retries=-1'])).toMatchObject({ code: 'CONFIG', message: 'job option retries: Too small: expected number to be >=0, got -1' });
    expect(refusal(undefined, ['taskTimeoutMs=fast']).message).toBe('job option taskTimeoutMs: Invalid input: expected number, received string, got "fast"');
    expect(refusal('{"batchSize":2.5}').message).toMatch(/^job option batchSize: .*expected int.*, got 2\.5$/);
    expect(refusal(undefined, ['retries=true']).message).toMatch(/^job option retries: .*expected number, received boolean, got true$/);
  });

  it('an unknown option is refused with the list of job options', () => {
    expect(refusal(undefined, ['retriez=1'])).toMatchObject({
      code: 'CONFIG',
      message: 'unknown job option "retriez"; the job options are retries, taskTimeoutMs, taskMemoryMb, batchSize, resultTtlSec, callback, priority, maxFailedTasks, maxFailedRatio',
    });
  });

  it('malformed flags are refused with what was expected', () => {
    expect(refusal(undefined, ['retries'])).toMatchObject({ code: 'CONFIG', message: '--option takes key=value, e.g. --option retries=5, got "retries"' });
    expect(refusal(undefined, ['=5']).message).toMatch(/^--option takes key=value/);
    expect(refusal('{retries:1}')).toMatchObject({ code: 'CONFIG', message: expect.stringMatching(/^--options is not valid JSON: /) });
    expect(refusal('[1]').message).toBe(`--options must be a JSON object of job options, e.g. '{"retries":5}', got [1]`);
    expect(refusal('5').message).toMatch(/^--options must be a JSON object/);
  });
});
