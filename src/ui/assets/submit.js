// Submit: a form per job type generated from its input JSON Schema, or raw JSON; POST /v1/jobs, then the job's page.
import { api } from './api.js';
import { jobTypes } from './job-types.js';
import { h, replace } from './dom.js';
import { isObjectSchema, schemaForm } from './schema-form.js';

export function renderSubmit(main, typeName) {
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Submit a job')), h('p', { class: 'muted' }, 'Loading job types…'));
  let stopped = false;
  jobTypes()
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
  const typeSelect = h(
    'select',
    { id: 'submit-type', 'data-testid': 'submit-type', onchange: (e) => (location.hash = `#/submit/${encodeURIComponent(e.target.value)}`) },
    types.map((t) => h('option', { value: t.name, selected: t === type }, t.name)),
  );
  const generated = schemaForm(type.inputSchema, 'input');
  const raw = h('textarea', { id: 'submit-raw', class: 'mono', rows: '10', spellcheck: 'false', 'data-testid': 'submit-raw', 'aria-describedby': 'submit-raw-hint' });
  const rawField = h('div', { class: 'field', hidden: generated !== null }, h('label', { for: 'submit-raw' }, 'Input (JSON)'), raw, h('p', { class: 'hint', id: 'submit-raw-hint' }, 'The job input as JSON; it is checked against the schema below before anything is stored.'));
  const schemaView = h('details', { class: 'schema' }, h('summary', {}, 'Input JSON Schema'), h('pre', { class: 'code' }, JSON.stringify(type.inputSchema, null, 2)));
  const options = h('textarea', { id: 'submit-options', class: 'mono', rows: '3', spellcheck: 'false', placeholder: '{ "retries": 2, "taskTimeoutMs": 60000 }', 'data-testid': 'submit-options', 'aria-describedby': 'submit-options-hint' });
  const error = h('div', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'submit-error' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'submit-button' }, `Submit ${type.name}`);

  let rawMode = generated === null;
  const toggle = h('button', { type: 'button', class: 'link-button', 'data-testid': 'submit-toggle-raw', hidden: generated === null, 'aria-pressed': 'false' }, 'Edit as JSON');
  toggle.addEventListener('click', () => {
    if (!rawMode) {
      raw.value = JSON.stringify(generated.read().value, null, 2);
    } else {
      try {
        generated.write(JSON.parse(raw.value || '{}'));
      } catch (err) {
        showError([`The JSON cannot go back into the form: ${err.message}`]);
        return;
      }
    }
    rawMode = !rawMode;
    generated.element.hidden = rawMode;
    rawField.hidden = !rawMode;
    toggle.textContent = rawMode ? 'Edit as form' : 'Edit as JSON';
    toggle.setAttribute('aria-pressed', String(rawMode));
    (rawMode ? raw : generated.element.querySelector('input, select, textarea'))?.focus();
  });
  if (generated === null) raw.value = '{}';

  function showError(lines, title = 'The job was not submitted') {
    error.hidden = false;
    replace(error, h('strong', {}, title), lines.length === 1 ? h('p', {}, lines[0]) : h('ul', {}, lines.map((l) => h('li', {}, l))));
    error.scrollIntoView({ block: 'nearest' });
  }

  const form = h(
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

  // What will be sent, kept up to date as the form changes.
  const preview = h('pre', { class: 'code', 'data-testid': 'submit-preview' });
  const updatePreview = () => {
    let input;
    try {
      input = rawMode ? JSON.parse(raw.value || 'null') : generated.read().value;
    } catch {
      input = '(not valid JSON yet)';
    }
    let opts;
    try {
      opts = options.value.trim() === '' ? undefined : JSON.parse(options.value);
    } catch {
      opts = '(not valid JSON yet)';
    }
    preview.textContent = `POST /v1/jobs\n${JSON.stringify({ job: type.name, input, ...(opts === undefined ? {} : { options: opts }) }, null, 2)}`;
  };
  form.addEventListener('input', updatePreview);
  form.addEventListener('change', updatePreview);
  toggle.addEventListener('click', updatePreview);
  updatePreview();

  const aside = h(
    'aside',
    { class: 'submit-aside', 'aria-label': 'About the request' },
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'h-types' },
      h('h2', { id: 'h-types' }, 'Job types'),
      h(
        'ul',
        { class: 'type-list' },
        types.map((t) => h('li', {}, h('a', { href: `#/submit/${encodeURIComponent(t.name)}`, 'aria-current': t === type ? 'page' : undefined }, h('span', {}, t.name), h('span', { class: 'muted small' }, t.resultType === 'json' ? '' : t.resultType)))),
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'h-preview' }, h('h2', { id: 'h-preview' }, 'Request'), preview, schemaView),
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    let input;
    if (rawMode) {
      try {
        input = JSON.parse(raw.value);
      } catch (err) {
        return showError([`The input is not valid JSON: ${err.message}`]);
      }
    } else {
      const r = generated.read();
      if (r.errors.length > 0) return showError(r.errors);
      input = r.value;
    }
    let opts;
    if (options.value.trim() !== '') {
      try {
        opts = JSON.parse(options.value);
      } catch (err) {
        return showError([`The options are not valid JSON: ${err.message}`]);
      }
    }
    submit.disabled = true;
    submit.textContent = 'Submitting…';
    try {
      const res = await api('/v1/jobs', { method: 'POST', body: { job: type.name, input, ...(opts === undefined ? {} : { options: opts }) } });
      location.hash = `#/jobs/${encodeURIComponent(res.id)}`;
    } catch (err) {
      // The message already names every problem; the fields it names are marked too.
      const issues = Array.isArray(err.details?.issues) ? err.details.issues : [];
      for (const issue of issues) form.querySelector(`[name="${CSS.escape((issue.path ?? []).join('.'))}"]`)?.setAttribute('aria-invalid', 'true');
      showError([err.message], err.status ? `The API refused the job (${err.code ?? err.status})` : 'The job was not submitted');
      submit.disabled = false;
      submit.textContent = `Submit ${type.name}`;
    }
  });

  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Submit a job')), h('div', { class: 'submit-layout' }, form, aside));
}
