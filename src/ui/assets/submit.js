// Submit: a form per job type generated from its input JSON Schema, or raw JSON; POST /v1/jobs, then the job's page.
import { api } from './api.js';
import { jobTypes, sourceLabel, versionsOf } from './job-types.js';
import { h, replace } from './dom.js';
import { isObjectSchema, schemaForm } from './schema-form.js';

export function renderSubmit(main, typeName) {
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Submit a job')), h('p', { class: 'muted' }, 'Loading job types…'));
  let stopped = false;
  jobTypes({ fresh: true })
    .then((types) => {
      if (!stopped) build(main, types, typeName);
    })
    .catch((err) => {
      if (!stopped) replace(main, h('h1', {}, 'Submit a job'), h('p', { class: 'error', role: 'alert' }, `Could not load the job types: ${err.message}`));
    });
  return () => {
    stopped = true;
  };
}

function build(main, types, typeName) {
  if (types.length === 0) {
    replace(main, h('h1', {}, 'Submit a job'), h('p', { class: 'empty' }, 'This server has no job types.'));
    return;
  }
  const type = types.find((t) => t.name === typeName) ?? types[0];
  const form = new SubmitForm(type, types);
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Submit a job')), h('div', { class: 'submit-layout' }, form.element, aside(types, type, form.preview)));
}

/** The form of one job type: generated from its input schema (or raw JSON), the options, and what will be sent. */
class SubmitForm {
  #element;
  /** What will be sent, kept up to date as the form changes. */
  #preview = h('pre', { class: 'code', 'data-testid': 'submit-preview' });
  #type;
  #generated;
  #rawMode;
  #el;

  constructor(type, types) {
    this.#type = type;
    this.#generated = schemaForm(type.inputSchema, 'input');
    this.#rawMode = this.#generated === null;
    this.#el = fields(type, types, this.#generated);
    this.#el.toggle.addEventListener('click', () => this.#toggleRaw());
    if (this.#generated === null) this.#el.raw.value = '{}';
    this.#element = formElement(type, this.#generated, this.#el);
    const updatePreview = () => this.#updatePreview();
    this.element.addEventListener('input', updatePreview);
    this.element.addEventListener('change', updatePreview);
    this.#el.toggle.addEventListener('click', updatePreview);
    updatePreview();
    this.element.addEventListener('submit', (e) => this.#submit(e));
  }

  get element() {
    return this.#element;
  }

  get preview() {
    return this.#preview;
  }

  /** Between the generated form and raw JSON, carrying the value across. */
  #toggleRaw() {
    const { raw, rawField, toggle } = this.#el;
    const generated = this.#generated;
    if (!this.#rawMode) {
      raw.value = JSON.stringify(generated.read().value, null, 2);
    } else {
      try {
        generated.write(JSON.parse(raw.value || '{}'));
      } catch (err) {
        this.#showError([`The JSON cannot go back into the form: ${err.message}`]);
        return;
      }
    }
    this.#rawMode = !this.#rawMode;
    generated.element.hidden = this.#rawMode;
    rawField.hidden = !this.#rawMode;
    toggle.textContent = this.#rawMode ? 'Edit as form' : 'Edit as JSON';
    toggle.setAttribute('aria-pressed', String(this.#rawMode));
    (this.#rawMode ? raw : generated.element.querySelector('input, select, textarea'))?.focus();
  }

  #showError(lines, title = 'The job was not submitted') {
    const { error } = this.#el;
    error.hidden = false;
    replace(error, h('strong', {}, title), lines.length === 1 ? h('p', {}, lines[0]) : h('ul', {}, lines.map((l) => h('li', {}, l))));
    error.scrollIntoView({ block: 'nearest' });
  }

  #updatePreview() {
    const { raw, options } = this.#el;
    let input;
    try {
      input = this.#rawMode ? JSON.parse(raw.value || 'null') : this.#generated.read().value;
    } catch {
      input = '(not valid JSON yet)';
    }
    let opts;
    try {
      opts = options.value.trim() === '' ? undefined : JSON.parse(options.value);
    } catch {
      opts = '(not valid JSON yet)';
    }
    this.#preview.textContent = `POST /v1/jobs\n${JSON.stringify({ job: this.#type.name, input, ...(opts === undefined ? {} : { options: opts }) }, null, 2)}`;
  }

  /** The input and options as they will be sent; `{ problems }` (shown) when they cannot be. */
  #read() {
    const { raw, options } = this.#el;
    let input;
    if (this.#rawMode) {
      try {
        input = JSON.parse(raw.value);
      } catch (err) {
        return { problems: [`The input is not valid JSON: ${err.message}`] };
      }
    } else {
      const r = this.#generated.read();
      if (r.errors.length > 0) return { problems: r.errors };
      input = r.value;
    }
    let opts;
    if (options.value.trim() !== '') {
      try {
        opts = JSON.parse(options.value);
      } catch (err) {
        return { problems: [`The options are not valid JSON: ${err.message}`] };
      }
    }
    return { input, opts };
  }

  async #submit(e) {
    e.preventDefault();
    const { error, submit } = this.#el;
    const form = this.element;
    error.hidden = true;
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const { problems, input, opts } = this.#read();
    if (problems !== undefined) return this.#showError(problems);
    submit.disabled = true;
    submit.textContent = 'Submitting…';
    try {
      const res = await api('/v1/jobs', { method: 'POST', body: { job: this.#type.name, input, ...(opts === undefined ? {} : { options: opts }) } });
      location.hash = `#/jobs/${encodeURIComponent(res.id)}`;
    } catch (err) {
      // The message already names every problem; the fields it names are marked too.
      const issues = Array.isArray(err.details?.issues) ? err.details.issues : [];
      for (const issue of issues) form.querySelector(`[name="${CSS.escape((issue.path ?? []).join('.'))}"]`)?.setAttribute('aria-invalid', 'true');
      this.#showError([err.message], err.status ? `The API refused the job (${err.code ?? err.status})` : 'The job was not submitted');
      submit.disabled = false;
      submit.textContent = `Submit ${this.#type.name}`;
    }
  }
}

/** The form's controls besides the generated fields. */
function fields(type, types, generated) {
  const raw = h('textarea', { id: 'submit-raw', class: 'mono', rows: '10', spellcheck: 'false', 'data-testid': 'submit-raw', 'aria-describedby': 'submit-raw-hint' });
  return {
    typeSelect: h(
      'select',
      { id: 'submit-type', 'data-testid': 'submit-type', onchange: (e) => (location.hash = `#/submit/${encodeURIComponent(e.target.value)}`) },
      types.map((t) => h('option', { value: t.name, selected: t === type }, t.name)),
    ),
    raw,
    rawField: h('div', { class: 'field', hidden: generated !== null }, h('label', { for: 'submit-raw' }, 'Input (JSON)'), raw, h('p', { class: 'hint', id: 'submit-raw-hint' }, 'The job input as JSON; it is checked against the schema below before anything is stored.')),
    options: h('textarea', { id: 'submit-options', class: 'mono', rows: '3', spellcheck: 'false', placeholder: '{ "retries": 2, "taskTimeoutMs": 60000 }', 'data-testid': 'submit-options', 'aria-describedby': 'submit-options-hint' }),
    error: h('div', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'submit-error' }),
    submit: h('button', { type: 'submit', class: 'primary', 'data-testid': 'submit-button' }, `Submit ${type.name}`),
    toggle: h('button', { type: 'button', class: 'link-button', 'data-testid': 'submit-toggle-raw', hidden: generated === null, 'aria-pressed': 'false' }, 'Edit as JSON'),
  };
}

function formElement(type, generated, { typeSelect, toggle, rawField, options, error, submit }) {
  return h(
    'form',
    { class: 'card submit-form', novalidate: true, 'aria-labelledby': 'h-submit', 'data-testid': 'submit-form' },
    h('h2', { id: 'h-submit', class: 'visually-hidden' }, `Input of ${type.name}`),
    h('div', { class: 'field' }, h('label', { for: 'submit-type' }, 'Job type'), typeSelect, h('p', { class: 'hint' }, type.description || 'No description.', type.resultType && type.resultType !== 'json' ? ` Result: ${type.resultType}.` : '')),
    h('div', { class: 'form-toolbar' }, h('span', { class: 'muted small' }, isObjectSchema(type.inputSchema) ? 'Fields marked * are required; empty fields take their defaults.' : 'This input is not a simple object: give it as JSON.'), toggle),
    generated?.element,
    rawField,
    h('details', { class: 'options' }, h('summary', {}, 'Job options'), h('div', { class: 'field' }, h('label', { for: 'submit-options' }, 'Options (JSON, optional)'), options, h('p', { class: 'hint', id: 'submit-options-hint' }, 'retries, taskTimeoutMs, taskMemoryMb, batchSize, resultTtlSec; unset ones come from the job type.'))),
    error,
    h('div', { class: 'actions' }, submit),
  );
}

/** The job types to choose from, the request as it will be sent, and the input schema. */
function aside(types, type, preview) {
  const schemaView = h('details', { class: 'schema' }, h('summary', {}, 'Input JSON Schema'), h('pre', { class: 'code' }, JSON.stringify(type.inputSchema, null, 2)));
  return h(
    'aside',
    { class: 'submit-aside', 'aria-label': 'About the request' },
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'h-types' },
      h('h2', { id: 'h-types' }, 'Job types'),
      h(
        'ul',
        { class: 'type-list' },
        types.map((t) => h('li', {}, h('a', { href: `#/submit/${encodeURIComponent(t.name)}`, 'aria-current': t === type ? 'page' : undefined }, h('span', {}, t.name), h('span', { class: 'muted small', 'data-testid': `source-${t.name}` }, [sourceLabel(t), t.resultType === 'json' ? '' : t.resultType].filter(Boolean).join(' · '))))),
      ),
    ),
    type.source === 'deployed' ? versionsCard(type) : null,
    h('section', { class: 'card', 'aria-labelledby': 'h-preview' }, h('h2', { id: 'h-preview' }, 'Request'), preview, schemaView),
  );
}

/** A deployed type's versions: which is active (what a submission runs), when and by whom each was deployed. */
function versionsCard(type) {
  const list = h('ol', { class: 'versions', 'data-testid': 'versions' }, h('li', { class: 'muted' }, 'Loading versions…'));
  versionsOf(type.name)
    .then((versions) =>
      replace(
        list,
        ...versions.map((v) =>
          h('li', {}, h('strong', {}, `v${v.version}`), v.active ? h('span', { class: 'badge' }, 'active') : null, h('span', { class: 'muted small' }, ` ${v.digest.slice(0, 12)} · ${new Date(v.deployedAt).toLocaleString()} · ${v.deployedBy}`)),
        ),
      ),
    )
    .catch((err) => replace(list, h('li', { class: 'error' }, `Could not load the versions: ${err.message}`)));
  return h('section', { class: 'card', 'aria-labelledby': 'h-versions' }, h('h2', { id: 'h-versions' }, `Versions of ${type.name}`), h('p', { class: 'muted small' }, `New jobs run v${type.version}; a job keeps the version it was submitted to.`), list);
}
