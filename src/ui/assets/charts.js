// Live time-series charts (uPlot) over a rolling window, with vertical markers for leader changes.
import uPlot from './vendor/uPlot.esm.js';
import { colourFor, h } from './dom.js';

/** Seconds since the epoch as local "HH:MM:SS". */
function clock(sec) {
  const d = new Date(sec * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * A uPlot plugin drawing a dashed vertical line, labelled, at each marker `{ t (s), label }`.
 * Markers outside the visible range are skipped.
 */
function markersPlugin(getMarkers) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          const [min, max] = [u.scales.x.min, u.scales.x.max];
          ctx.save();
          ctx.strokeStyle = '#d97706';
          ctx.fillStyle = '#b45309';
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textBaseline = 'top';
          ctx.textAlign = 'left'; // uPlot's axes leave it set otherwise
          const pad = 4 * devicePixelRatio;
          const lineHeight = 14 * devicePixelRatio;
          /** Right edge of the last label in each row: a label that would overlap goes a row down. */
          const rowEnds = [];
          for (const m of getMarkers()) {
            if (m.t < min || m.t > max) continue;
            const x = Math.round(u.valToPos(m.t, 'x', true));
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            const text = m.label;
            const w = ctx.measureText(text).width;
            const tx = Math.max(left, x + pad + w > left + width ? x - pad - w : x + pad);
            let row = rowEnds.findIndex((end) => tx > end + pad);
            if (row === -1) row = rowEnds.length;
            rowEnds[row] = tx + w;
            ctx.fillText(text, tx, top + 2 * devicePixelRatio + row * lineHeight);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/**
 * A line chart that keeps `windowSec` seconds of samples. `push(tSec, { id: value })` adds a
 * sample; series appear as new ids do. `markers()` returns the leader changes to draw.
 */
export function liveChart(container, { title, unit, markers = () => [], windowSec = 300, fill = false, colour = colourFor, testid }) {
  const wrap = h('figure', { class: 'chart', 'data-testid': testid }, h('figcaption', {}, title));
  const plot = h('div', { class: 'chart-plot' });
  wrap.append(plot);
  container.append(wrap);

  const samples = new RollingSamples(windowSec);
  let chart = null;
  let ids = [];

  const width = () => Math.max(240, plot.clientWidth || container.clientWidth || 480);

  function build() {
    chart?.destroy();
    chart = new uPlot(chartOptions(width(), ids, { unit, fill, colour, markers }), samples.data(ids), plot);
  }

  const resize = new ResizeObserver(() => chart?.setSize({ width: width(), height: 190 }));
  resize.observe(plot);

  return {
    /** Adds one sample per series at time `t` (seconds). */
    push(t, sample) {
      samples.add(t, sample);
      const current = samples.ids();
      if (chart === null || current.join('\n') !== ids.join('\n')) {
        ids = current;
        build();
      } else chart.setData(samples.data(ids));
    },
    /** Redraws (after the markers changed). */
    redraw() {
      chart?.redraw(false);
    },
    destroy() {
      resize.disconnect();
      chart?.destroy();
      chart = null;
    },
    /** Replays kept history into a fresh chart. */
    load(history) {
      for (const { t, sample } of history) this.push(t, sample);
    },
  };
}

/** Samples of several series over a rolling window: their times, and per series id values aligned with them. */
class RollingSamples {
  #windowSec;
  #times = [];
  /** id → values aligned with `#times` (null where the series had no sample). */
  #values = new Map();

  constructor(windowSec) {
    this.#windowSec = windowSec;
  }

  add(t, sample) {
    const values = this.#values;
    const newIds = Object.keys(sample).filter((id) => !values.has(id));
    for (const id of newIds) values.set(id, this.#times.map(() => null));
    this.#times.push(t);
    for (const [id, arr] of values) arr.push(id in sample ? sample[id] : null);
    // Drop what has left the window.
    const cut = this.#times.findIndex((x) => x >= t - this.#windowSec);
    if (cut > 0) {
      this.#times = this.#times.slice(cut);
      for (const [id, arr] of values) values.set(id, arr.slice(cut));
    }
    // Series whose every value has left the window go too (a node that left long ago).
    for (const [id, arr] of values) if (arr.every((v) => v === null)) values.delete(id);
  }

  /** The series ids, sorted. */
  ids() {
    return [...this.#values.keys()].sort();
  }

  /** uPlot's data: the times, then the values of each of `ids`. */
  data(ids) {
    return [this.#times, ...ids.map((id) => this.#values.get(id))];
  }
}

/** uPlot's options for a chart of the series `ids`: time on x, from 0 on y, a legend, the markers. */
function chartOptions(width, ids, { unit, fill, colour, markers }) {
  const series = [
    { value: (_u, v) => (v === null || v === undefined ? '—' : clock(v)) },
    ...ids.map((id) => ({
      label: id,
      stroke: colour(id),
      width: 2,
      fill: fill ? `${colour(id)}1f` : undefined,
      spanGaps: false,
      points: { show: false },
      value: (_u, v) => (v === null || v === undefined ? '—' : `${Number(v).toLocaleString('en-US', { maximumFractionDigits: 1 })} ${unit}`),
    })),
  ];
  return {
    width,
    height: 190,
    series,
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      {
        stroke: '#64748b',
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        space: 70,
        // Whole seconds at least: a short window must not get ticks like ":19.500".
        incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600],
        values: (_u, splits) => splits.map((v) => clock(v)),
      },
      { stroke: '#64748b', grid: { stroke: '#eef2f7' }, ticks: { stroke: '#e2e8f0' }, size: 52 },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    plugins: [markersPlugin(markers)],
  };
}
