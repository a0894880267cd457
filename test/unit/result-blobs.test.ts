// Stored result batches read back in task order: the packed form store-results.lua writes, its positions lost to another copy, and the older form.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexRuns, assembleResults, batchTexts, decodeIndices, packBatches, packResults } from '../../src/store/result-blobs.js';

describe('assembleResults', () => {
  it('places each packed result at its task index, whatever order the batches and their tasks came in', () => {
    const blobs = ['{"i":"3,2","r":[{"d":4},"c"]}', '{"i":"0-1","r":[1,[2]]}'];
    expect(assembleResults(blobs, 4)).toEqual([1, [2], 'c', { d: 4 }]);
  });

  it('skips the positions listed in x: results another copy stored first are not this batch\'s', () => {
    const first = '{"i":"0-2","r":["a","b","c"]}';
    const overlapping = '{"x":[0,2],"i":"1,3,2,4","r":["late","d","late","e"]}';
    expect(assembleResults([first, overlapping], 5)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(assembleResults([overlapping, first], 5)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reads batches stored in the older form, [[index, result], …], beside packed ones', () => {
    expect(assembleResults(['[[0,"a"],[2,"c"]]', '{"i":"1","r":["b"]}'], 3)).toEqual(['a', 'b', 'c']);
  });
});

describe('result batches handed to the reduce thread as one buffer', () => {
  it('reads back each batch as it was stored, multi-byte characters included', () => {
    const blobs = ['{"i":"0-1","r":["é",1]}', '{"i":"2","r":["→ 🎉"]}', '[[3,"ß"]]'];
    const batches = packBatches(blobs.map((b) => Buffer.from(b)));
    expect([...batchTexts(batches)]).toEqual(blobs);
    expect(assembleResults(batchTexts(batches), 4)).toEqual(['é', 1, '→ 🎉', 'ß']);
    expect([...batchTexts(packBatches([]))]).toEqual([]);
  });

  it('packs small batches into a buffer of its own, so transferring it leaves Node\'s shared Buffer pool alone', () => {
    // Small Buffers are slices of one shared pool: transferring the pool would empty every other slice of it.
    const pooled = Buffer.from('{"i":"0","r":[7]}');
    const neighbour = Buffer.from('kept');
    expect(pooled.buffer).toBe(neighbour.buffer);
    const batches = packBatches([pooled]);
    expect(batches.bytes.buffer.byteLength).toBe(batches.bytes.byteLength);
    const moved = structuredClone(batches, { transfer: [batches.bytes.buffer] });
    expect(batches.bytes.byteLength).toBe(0); // transferred, not copied
    expect(neighbour.toString()).toBe('kept');
    expect(assembleResults(batchTexts(moved), 1)).toEqual([7]);
  });
});

describe('packed indices', () => {
  it('write runs of consecutive indices as first-last, in the order they came', () => {
    const runs = new IndexRuns();
    for (const i of [0, 1, 2, 3, 7, 40, 41, 5]) runs.push(i);
    expect([runs.toString(), runs.count]).toEqual(['0-3,7,40-41,5', 8]);
    expect(decodeIndices('0-3,7,40-41,5')).toEqual([0, 1, 2, 3, 7, 40, 41, 5]);
    expect(decodeIndices('')).toEqual([]);
  });

  it('decode to the indices written, for any order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(10_000), { maxLength: 300 }), (indices) => {
        const runs = new IndexRuns();
        for (const i of indices) runs.push(i);
        expect(decodeIndices(runs.toString())).toEqual(indices);
      }),
    );
  });

  it('packResults packs [index, JSON] pairs as a thread does: the indices, their count, the JSON as an array body', () => {
    expect(packResults([[5, '"x"'], [2, '{"a":1}']])).toEqual({ indices: '5,2', count: 2, json: '"x",{"a":1}' });
    expect(JSON.parse(`[${packResults([[0, 'null'], [1, '[1,2]']]).json}]`)).toEqual([null, [1, 2]]);
  });
});
