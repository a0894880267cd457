// Example job: renders the Mandelbrot set to a PNG, one band of rows per task.
import { deflateSync, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';

const MAX_SIDE = 4096;
const MAX_ITER = 100_000;
/** Without `rowsPerTask`, an image is cut into about this many bands... */
const AUTO_TASKS = 32;
/** ...of at most this many pixels (a result of ≤ 1.5 MB of RGB before compression)... */
const MAX_BAND_PIXELS = 1 << 19;
/** ...and at most this many iterations in the worst case (every pixel inside the set): ~1–2 s. */
const MAX_BAND_WORK = 2 ** 30;
/** |z|² past which a point has escaped; large, so the smooth colouring is smooth. */
const BAILOUT_SQUARED = 256;
/** At zoom 1 the view is this wide, around the default centre. */
const BASE_SPAN = 3;
const DEFAULT_CENTRE = Object.freeze({ x: -0.5, y: 0 });

/**
 * The palette: a cyclic gradient (Ultra Fractal's default) through these stops, at these
 * positions in [0, 1); points inside the set are black.
 */
const STOPS: readonly (readonly [position: number, r: number, g: number, b: number])[] = [
  [0, 0, 7, 100],
  [0.16, 32, 107, 203],
  [0.42, 237, 255, 255],
  [0.6425, 255, 170, 0],
  [0.8575, 0, 2, 0],
  [1, 0, 7, 100],
];
/** Smooth iteration counts per turn of the palette. */
const PALETTE_PERIOD = 48;

const coordinate = z.number().min(-10).max(10);

export const mandelbrotInput = z
  .strictObject({
    width: z.number().int().min(1).max(MAX_SIDE).default(800).describe('image width in pixels'),
    height: z.number().int().min(1).max(MAX_SIDE).default(600).describe('image height in pixels'),
    maxIter: z
      .number()
      .int()
      .min(1)
      .max(MAX_ITER)
      .default(500)
      .describe('iterations before a point counts as inside the set (more: finer detail when zoomed in)'),
    centre: z
      .strictObject({
        x: coordinate.describe('real part'),
        y: coordinate.describe('imaginary part'),
      })
      .optional()
      .describe('the point at the middle of the image; default { x: -0.5, y: 0 }; not with bounds'),
    zoom: z
      .number()
      .min(1e-3)
      .max(1e13)
      .optional()
      .describe(`magnification: the image is ${BASE_SPAN} / zoom wide, with square pixels; default 1; not with bounds`),
    bounds: z
      .strictObject({
        xMin: coordinate.describe('real part at the left edge'),
        xMax: coordinate.describe('real part at the right edge'),
        yMin: coordinate.describe('imaginary part at the bottom edge'),
        yMax: coordinate.describe('imaginary part at the top edge'),
      })
      .optional()
      .describe('the rectangle of the complex plane to draw, instead of centre and zoom (pixels may be stretched)'),
    rowsPerTask: z
      .number()
      .int()
      .min(1)
      .max(MAX_SIDE)
      .optional()
      .describe(`rows per task; default: about height / ${AUTO_TASKS}, fewer for wide images and high maxIter`),
  })
  .check((ctx) => {
    const { bounds, centre, zoom } = ctx.value;
    if (bounds === undefined) return;
    if (centre !== undefined || zoom !== undefined) {
      ctx.issues.push({
        code: 'custom',
        path: ['bounds'],
        input: bounds,
        message: `give bounds or centre and zoom, not both (got bounds and ${centre !== undefined ? 'centre' : 'zoom'})`,
      });
    }
    if (!(bounds.xMin < bounds.xMax)) {
      ctx.issues.push({
        code: 'custom',
        path: ['bounds', 'xMax'],
        input: bounds.xMax,
        message: `bounds.xMax must be greater than bounds.xMin (${bounds.xMin}), got ${bounds.xMax}`,
      });
    }
    if (!(bounds.yMin < bounds.yMax)) {
      ctx.issues.push({
        code: 'custom',
        path: ['bounds', 'yMax'],
        input: bounds.yMax,
        message: `bounds.yMax must be greater than bounds.yMin (${bounds.yMin}), got ${bounds.yMax}`,
      });
    }
  });

export type MandelbrotInput = z.output<typeof mandelbrotInput>;

/** The rectangle of the complex plane an image shows. */
export interface View {
  readonly xMin: number;
  readonly xMax: number;
  readonly yMin: number;
  readonly yMax: number;
}

/**
 * One task: rows [row0, row0 + rows) of a width × height image of `view`. Pixel (px, py) shows
 * the point xMin + (px + ½)·(xMax − xMin)/width + i·(yMax − (py + ½)·(yMax − yMin)/height).
 */
export interface MandelbrotTask extends View {
  readonly row0: number;
  readonly rows: number;
  readonly width: number;
  readonly height: number;
  readonly maxIter: number;
}

/** One band's pixels: RGB, 3 bytes a pixel, row after row, deflated and base64-encoded. */
export interface MandelbrotBand {
  readonly row0: number;
  readonly rows: number;
  readonly rgb: string;
}

export function viewOf(input: MandelbrotInput): View {
  if (input.bounds) return input.bounds;
  const { x, y } = input.centre ?? DEFAULT_CENTRE;
  const spanX = BASE_SPAN / (input.zoom ?? 1);
  const spanY = (spanX * input.height) / input.width;
  return { xMin: x - spanX / 2, xMax: x + spanX / 2, yMin: y - spanY / 2, yMax: y + spanY / 2 };
}

export function rowsPerTaskOf(input: MandelbrotInput): number {
  if (input.rowsPerTask !== undefined) return input.rowsPerTask;
  const byCount = Math.ceil(input.height / AUTO_TASKS);
  const bySize = Math.floor(MAX_BAND_PIXELS / input.width);
  const byWork = Math.floor(MAX_BAND_WORK / (input.width * input.maxIter));
  return Math.max(1, Math.min(byCount, bySize, byWork));
}

/** Writes the palette colour of smooth iteration count `nu` (≥ 0) at `out[at..at+2]`. */
function paint(nu: number, out: Uint8Array, at: number): void {
  const t = (nu / PALETTE_PERIOD) % 1;
  let k = 1;
  while (k < STOPS.length - 1 && STOPS[k]![0] <= t) k++;
  const [p0, r0, g0, b0] = STOPS[k - 1]!;
  const [p1, r1, g1, b1] = STOPS[k]!;
  const f = (t - p0) / (p1 - p0);
  out[at] = Math.round(r0 + (r1 - r0) * f);
  out[at + 1] = Math.round(g0 + (g1 - g0) * f);
  out[at + 2] = Math.round(b0 + (b1 - b0) * f);
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error('task aborted');
}

export default defineJob({
  name: 'mandelbrot',
  description: 'Renders the Mandelbrot set to a PNG with smooth colouring, one band of rows per task.',
  input: mandelbrotInput,
  resultType: 'image/png',

  *split(input): Generator<MandelbrotTask> {
    const view = viewOf(input);
    const rows = rowsPerTaskOf(input);
    for (let row0 = 0; row0 < input.height; row0 += rows) {
      yield {
        row0,
        rows: Math.min(rows, input.height - row0),
        width: input.width,
        height: input.height,
        maxIter: input.maxIter,
        xMin: view.xMin,
        xMax: view.xMax,
        yMin: view.yMin,
        yMax: view.yMax,
      };
    }
  },

  run(task: MandelbrotTask, ctx): MandelbrotBand {
    const { row0, rows, width, height, maxIter, xMin, xMax, yMin, yMax } = task;
    const dx = (xMax - xMin) / width;
    const dy = (yMax - yMin) / height;
    const rgb = new Uint8Array(width * rows * 3); // zero: black, the colour of the set
    for (let r = 0; r < rows; r++) {
      throwIfAborted(ctx.signal);
      const cy = yMax - (row0 + r + 0.5) * dy;
      const cy2 = cy * cy;
      for (let px = 0; px < width; px++) {
        const cx = xMin + (px + 0.5) * dx;
        // The main cardioid and the period-2 bulb never escape: skip their maxIter iterations.
        const q = (cx - 0.25) * (cx - 0.25) + cy2;
        if (q * (q + (cx - 0.25)) < 0.25 * cy2 || (cx + 1) * (cx + 1) + cy2 < 0.0625) continue;
        let zx = 0;
        let zy = 0;
        let x2 = 0;
        let y2 = 0;
        let n = 0;
        while (n < maxIter && x2 + y2 <= BAILOUT_SQUARED) {
          zy = 2 * zx * zy + cy;
          zx = x2 - y2 + cx;
          x2 = zx * zx;
          y2 = zy * zy;
          n++;
        }
        if (x2 + y2 <= BAILOUT_SQUARED) continue; // still bounded: inside
        // Smooth (continuous) escape count: n + 1 − log2(log2 |z|).
        const nu = Math.max(0, n + 1 - Math.log2(0.5 * Math.log2(x2 + y2)));
        paint(nu, rgb, (r * width + px) * 3);
      }
      ctx.progress((r + 1) / rows);
    }
    return { row0, rows, rgb: deflateSync(rgb, { level: 6 }).toString('base64') };
  },

  reduce(bands: MandelbrotBand[], input): Uint8Array {
    const { width, height } = input;
    const rgb = Buffer.alloc(width * height * 3);
    let covered = 0;
    for (const band of bands) {
      const pixels = inflateSync(Buffer.from(band.rgb, 'base64'));
      if (pixels.length !== band.rows * width * 3) {
        throw new Error(
          `band at row ${band.row0} should hold ${band.rows} rows of ${width} RGB pixels (${band.rows * width * 3} bytes), got ${pixels.length} bytes`,
        );
      }
      pixels.copy(rgb, band.row0 * width * 3);
      covered += band.rows;
    }
    if (covered !== height) throw new Error(`bands should cover ${height} rows, got ${covered}`);
    // RGB in, RGB out: pngjs then takes the buffer as it is (no alpha channel to add or strip).
    const png = new PNG({ colorType: 2, inputColorType: 2 });
    png.width = width;
    png.height = height;
    png.data = rgb;
    const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, deflateLevel: 6 });
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
});
