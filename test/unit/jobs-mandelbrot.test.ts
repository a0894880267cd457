// The mandelbrot job against a direct per-pixel render, compared pixel by pixel after decoding the PNG.
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import mandelbrot from '../../jobs/mandelbrot.js';
import { runJobInline, runTaskInline, splitInline } from '../helpers/run-job-inline.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Render {
  width: number;
  height: number;
  maxIter: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** The documented palette: Ultra Fractal's gradient, one turn per 48 smooth iterations. */
function paletteColour(nu: number): [number, number, number] {
  const stops = [
    [0, 0, 7, 100],
    [0.16, 32, 107, 203],
    [0.42, 237, 255, 255],
    [0.6425, 255, 170, 0],
    [0.8575, 0, 2, 0],
    [1, 0, 7, 100],
  ] as const;
  const t = (nu / 48) % 1;
  for (let k = 1; k < stops.length; k++) {
    const [p1, r1, g1, b1] = stops[k]!;
    if (t < p1 || k === stops.length - 1) {
      const [p0, r0, g0, b0] = stops[k - 1]!;
      const f = (t - p0) / (p1 - p0);
      return [Math.round(r0 + (r1 - r0) * f), Math.round(g0 + (g1 - g0) * f), Math.round(b0 + (b1 - b0) * f)];
    }
  }
  throw new Error('unreachable');
}

/**
 * Every pixel iterated from z = 0 up to maxIter times (no shortcut for the cardioid), escaping
 * when |z|² > 256, coloured by the smooth count n + 1 − log2(½·log2 |z|²); RGBA as pngjs decodes it.
 */
function referenceRender(r: Render): Uint8Array {
  const rgba = new Uint8Array(r.width * r.height * 4);
  for (let py = 0; py < r.height; py++) {
    const cy = r.yMax - (py + 0.5) * ((r.yMax - r.yMin) / r.height);
    for (let px = 0; px < r.width; px++) {
      const cx = r.xMin + (px + 0.5) * ((r.xMax - r.xMin) / r.width);
      let zx = 0;
      let zy = 0;
      let n = 0;
      let escaped = false;
      while (n < r.maxIter) {
        const nextX = zx * zx - zy * zy + cx;
        zy = 2 * zx * zy + cy;
        zx = nextX;
        n++;
        if (zx * zx + zy * zy > 256) {
          escaped = true;
          break;
        }
      }
      const at = (py * r.width + px) * 4;
      const [red, green, blue] = escaped
        ? paletteColour(Math.max(0, n + 1 - Math.log2(0.5 * Math.log2(zx * zx + zy * zy))))
        : [0, 0, 0];
      rgba[at] = red;
      rgba[at + 1] = green;
      rgba[at + 2] = blue;
      rgba[at + 3] = 255;
    }
  }
  return rgba;
}

/** Decodes the job's PNG and counts the pixels that differ from the reference render. */
function compare(bytes: Uint8Array, render: Render): { mismatches: number; first?: string } {
  expect(bytes).toBeInstanceOf(Uint8Array);
  expect([...bytes.subarray(0, 8)]).toEqual(PNG_MAGIC);
  const png = PNG.sync.read(Buffer.from(bytes));
  expect([png.width, png.height]).toEqual([render.width, render.height]);
  const expected = referenceRender(render);
  let mismatches = 0;
  let first: string | undefined;
  for (let i = 0; i < expected.length; i += 4) {
    for (let c = 0; c < 4; c++) {
      if (png.data[i + c] !== expected[i + c]) {
        mismatches++;
        const pixel = i / 4;
        first ??= `pixel (${pixel % render.width}, ${Math.floor(pixel / render.width)}): got ${[...png.data.subarray(i, i + 4)]}, expected ${[...expected.subarray(i, i + 4)]}`;
        break;
      }
    }
  }
  return first === undefined ? { mismatches } : { mismatches, first };
}

describe('mandelbrot job', () => {
  it('declares that its result is a PNG', () => {
    expect(mandelbrot.resultType).toBe('image/png');
  });

  it('renders the default view (centre −0.5, zoom 1) exactly as a direct per-pixel render', async () => {
    const input = { width: 160, height: 120, maxIter: 300 };
    const bytes = await runJobInline(mandelbrot, input);
    // 3 wide at zoom 1, square pixels: 2.25 tall.
    expect(compare(bytes, { ...input, xMin: -2, xMax: 1, yMin: -1.125, yMax: 1.125 })).toEqual({ mismatches: 0 });
  });

  it('renders given bounds with odd sizes and an uneven last band', async () => {
    const input = {
      width: 97,
      height: 61,
      maxIter: 1_000,
      bounds: { xMin: -0.76, xMax: -0.72, yMin: 0.1, yMax: 0.13 },
      rowsPerTask: 7,
    };
    const tasks = await splitInline(mandelbrot, input);
    expect(tasks.map((t) => t.rows)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 5]);
    const bytes = await runJobInline(mandelbrot, input);
    expect(compare(bytes, { width: 97, height: 61, maxIter: 1_000, ...input.bounds })).toEqual({ mismatches: 0 });
  });

  it('renders a deep zoom around a centre', async () => {
    const input = { width: 64, height: 48, maxIter: 3_000, centre: { x: -0.743643887037151, y: 0.13182590420533 }, zoom: 5e4 };
    const span = 3 / 5e4;
    const bytes = await runJobInline(mandelbrot, input);
    expect(
      compare(bytes, {
        width: 64,
        height: 48,
        maxIter: 3_000,
        xMin: input.centre.x - span / 2,
        xMax: input.centre.x + span / 2,
        yMin: input.centre.y - (span * 0.75) / 2,
        yMax: input.centre.y + (span * 0.75) / 2,
      }),
    ).toEqual({ mismatches: 0 });
  });

  it('cuts images into about 32 bands, fewer rows when each row costs more', async () => {
    expect(await splitInline(mandelbrot, {})).toHaveLength(32);
    const big = await splitInline(mandelbrot, { width: 4096, height: 4096, maxIter: 1_000 });
    expect(big).toHaveLength(32);
    const deep = await splitInline(mandelbrot, { width: 4096, height: 4096, maxIter: 100_000 });
    expect(deep[0]!.rows).toBe(2);
    expect(deep).toHaveLength(2048);
    expect(await splitInline(mandelbrot, { width: 1, height: 1 })).toHaveLength(1);
  });

  it('returns bands small enough for Redis: base64 of deflated RGB', async () => {
    const [task] = await splitInline(mandelbrot, { width: 4096, height: 4096, maxIter: 200, rowsPerTask: 128 });
    const band = await runTaskInline(mandelbrot, task!);
    expect(band).toMatchObject({ row0: 0, rows: 128 });
    expect(band.rgb.length).toBeLessThan(128 * 4096 * 3);
  });

  it('stops with the abort reason when its signal is aborted', async () => {
    const [task] = await splitInline(mandelbrot, {});
    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    controller.abort(reason);
    await expect(runTaskInline(mandelbrot, task!, 0, { signal: controller.signal })).rejects.toBe(reason);
  });

  describe('rejects bad input, naming the field', () => {
    const cases: [string, unknown, string][] = [
      ['a zero width', { width: 0 }, 'width'],
      ['a height past 4096', { height: 4097 }, 'height'],
      ['a fractional maxIter', { maxIter: 10.5 }, 'maxIter'],
      ['maxIter past 100 000', { maxIter: 100_001 }, 'maxIter'],
      ['a negative zoom', { zoom: -1 }, 'zoom'],
      ['a centre without y', { centre: { x: 0 } }, 'centre.y'],
      ['bounds with a zoom', { zoom: 2, bounds: { xMin: -2, xMax: 1, yMin: -1, yMax: 1 } }, 'bounds'],
      ['bounds with xMin ≥ xMax', { bounds: { xMin: 1, xMax: 1, yMin: -1, yMax: 1 } }, 'bounds.xMax'],
      ['bounds with yMin ≥ yMax', { bounds: { xMin: -2, xMax: 1, yMin: 1, yMax: -1 } }, 'bounds.yMax'],
      ['bounds far outside the plane of interest', { bounds: { xMin: -100, xMax: 1, yMin: -1, yMax: 1 } }, 'bounds.xMin'],
      ['zero rows per task', { rowsPerTask: 0 }, 'rowsPerTask'],
    ];
    for (const [what, input, field] of cases) {
      it(what, () => {
        const result = mandelbrot.input.safeParse(input);
        expect(result.success).toBe(false);
        expect((result.error as z.ZodError).issues.map((issue) => issue.path.join('.'))).toContain(field);
      });
    }
  });
});
