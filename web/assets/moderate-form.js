// The console's question form: add a question, or edit a draft. It checks
// what it can before sending (the server checks again) and keeps what the form
// does not edit (translations, colours) when a draft is saved.

import { $$, clear, el, on, setText } from './dom.js';
import { letter, optionLabel } from './format.js';
import { t } from './i18n.js';
import { toast } from './ui.js';

/* questionForm(ui, {questions() -> the question list, indexOf(id), send(msg, cb) -> ref or null,
 *                   errorText(err), changed()})
 * -> {reset(), startEdit(q), editing() -> id or null, relabel()} */
export function questionForm(ui, opts) {
  // The id of the draft being edited, or null when the form adds a question.
  let editing = null;

  function kindChanged() {
    const kind = ui.kind.value;
    $$('[data-kinds]', ui.form).forEach(function (node) {
      node.hidden = node.dataset.kinds.split(' ').indexOf(kind) === -1;
    });
    renderCorrect();
  }

  function optionLines() {
    return ui.options.value.split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s; });
  }

  function renderCorrect(checked) {
    const prev = checked || $$('input', ui.correct).filter(function (c) { return c.checked; })
      .map(function (c) { return +c.value; });
    const kind = ui.kind.value;
    clear(ui.correct);
    const lines = optionLines();
    if (!lines.length) {
      ui.correct.appendChild(el('p', { className: 'hint', text: 'Type the options first.' }));
      return;
    }
    lines.slice(0, 12).forEach(function (label, i) {
      const id = 'f-correct-' + i;
      const box = el('input', {
        type: kind === 'single' ? 'radio' : 'checkbox', name: 'correct', id: id, value: String(i),
        checked: prev.indexOf(i) !== -1
      });
      ui.correct.appendChild(el('div', { className: 'correct-item' }, [
        box,
        el('label', { 'for': id }, [el('strong', { text: letter(i) + ' ' }), label])
      ]));
    });
    if (kind === 'single') {
      const none = el('button', { type: 'button', className: 'btn btn-secondary btn-small', text: 'No correct answer' });
      on(none, 'click', function () { $$('input', ui.correct).forEach(function (c) { c.checked = false; }); });
      ui.correct.appendChild(none);
    }
  }

  function formError(text) {
    ui.formError.hidden = !text;
    setText(ui.formError, text || '');
    return null;
  }

  function intOf(input) {
    const v = input.value.trim();
    if (v === '') return null;
    const n = Number(v);
    return isFinite(n) && Math.floor(n) === n ? n : NaN;
  }

  function buildSpec() {
    const kind = ui.kind.value;
    const prompt = ui.prompt.value.trim();
    if (!prompt) { ui.prompt.focus(); return formError(t('Type the question.')); }
    if (prompt.length > 500) return formError(t('The question is longer than 500 characters.'));
    const spec = { kind: kind, prompt: prompt };
    if (kind === 'single' || kind === 'multiple' || kind === 'ranking') {
      const options = optionLines();
      if (options.length < 2) { ui.options.focus(); return formError(t('Give at least two options, one per line.')); }
      if (options.length > 12) return formError(t('At most 12 options.'));
      for (let i = 0; i < options.length; i++) {
        if (options[i].length > 200) return formError(t('Option {letter} is longer than 200 characters.', { letter: letter(i) }));
      }
      spec.options = options;
    }
    if (kind === 'multiple') {
      const mc = intOf(ui.maxChoices);
      if (mc !== null) {
        if (isNaN(mc) || mc < 1 || mc > spec.options.length) return formError(t('"At most this many choices" must be between 1 and {n}.', { n: spec.options.length }));
        spec.max_choices = mc;
      }
    }
    if (kind === 'single' || kind === 'multiple') {
      const correct = $$('input', ui.correct).filter(function (c) { return c.checked; })
        .map(function (c) { return +c.value; }).filter(function (n) { return n < spec.options.length; });
      if (correct.length) spec.correct = correct;
    }
    if (kind === 'single' && ui.segment.checked) spec.segment = true;
    if (kind === 'scale') {
      let min = intOf(ui.min);
      let max = intOf(ui.max);
      if (min === null) min = 1;
      if (max === null) max = 5;
      if (isNaN(min) || isNaN(max)) return formError(t('The scale needs whole numbers.'));
      if (max <= min) return formError('"To" must be larger than "From".');
      if (max - min > 10) return formError(t('A scale has at most 11 steps.'));
      spec.min = min;
      spec.max = max;
      if (ui.minLabel.value.trim()) spec.min_label = ui.minLabel.value.trim();
      if (ui.maxLabel.value.trim()) spec.max_label = ui.maxLabel.value.trim();
    }
    if (kind === 'wordcloud') {
      const mw = intOf(ui.maxWords);
      if (mw !== null) {
        if (isNaN(mw) || mw < 1 || mw > 10) return formError(t('Words per person: 1 to 10.'));
        spec.max_words = mw;
      }
    }
    // Keep what the form does not edit.
    const orig = editing ? findIn(opts.questions(), editing) : null;
    if (orig && orig.kind === kind) {
      if (orig.translations) spec.translations = orig.translations;
      if (Array.isArray(orig.colours) && spec.options && orig.colours.length === spec.options.length) spec.colours = orig.colours;
    }
    formError(null);
    return spec;
  }

  function findIn(list, id) {
    for (let i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return null;
  }

  function reset() {
    editing = null;
    ui.form.reset();
    ui.min.value = '1';
    ui.max.value = '5';
    ui.maxWords.value = '3';
    setText(ui.formTitle, t('Add a question'));
    setText(ui.submit, t('Add question'));
    ui.cancel.hidden = true;
    ui.form.classList.remove('is-editing');
    formError(null);
    kindChanged();
    opts.changed();
  }

  function startEdit(q) {
    editing = q.id;
    ui.kind.value = q.kind;
    ui.prompt.value = q.prompt || '';
    ui.options.value = Array.isArray(q.options) ? q.options.map(optionLabel).join('\n') : '';
    ui.maxChoices.value = q.max_choices && Array.isArray(q.options) && q.max_choices < q.options.length ? String(q.max_choices) : '';
    ui.min.value = typeof q.min === 'number' ? String(q.min) : '1';
    ui.max.value = typeof q.max === 'number' ? String(q.max) : '5';
    ui.minLabel.value = q.min_label || '';
    ui.maxLabel.value = q.max_label || '';
    ui.maxWords.value = typeof q.max_words === 'number' ? String(q.max_words) : '3';
    ui.segment.checked = q.segment === true;
    kindChanged();
    renderCorrect(Array.isArray(q.correct) ? q.correct : []);
    setText(ui.formTitle, t('Edit question {n}', { n: opts.indexOf(q.id) + 1 }));
    setText(ui.submit, t('Save changes'));
    ui.cancel.hidden = false;
    ui.form.classList.add('is-editing');
    formError(null);
    opts.changed();
    ui.prompt.focus();
    if (ui.form.scrollIntoView) ui.form.scrollIntoView({ block: 'nearest' });
  }

  // The form's own texts in the interface language.
  function relabel() {
    setText(ui.formTitle, editing ? t('Edit question {n}', { n: opts.indexOf(editing) + 1 }) : t('Add a question'));
    setText(ui.submit, t(editing ? t('Save changes') : t('Add question')));
  }

  on(ui.kind, 'change', kindChanged);
  on(ui.options, 'input', function () { renderCorrect(); });
  on(ui.cancel, 'click', reset);
  on(ui.form, 'submit', function (ev) {
    ev.preventDefault();
    const spec = buildSpec();
    if (!spec) return;
    ui.submit.disabled = true;
    const wasEditing = editing;
    const msg = wasEditing
      ? { type: 'update_question', question_id: wasEditing, question: spec }
      : { type: 'add_question', question: spec };
    const ref = opts.send(msg, function (err) {
      ui.submit.disabled = false;
      if (err) {
        formError(opts.errorText(err));
        toast(opts.errorText(err), 'error');
        return;
      }
      toast(wasEditing ? t('Question saved.') : t('Question added.'), 'ok');
      reset();
    });
    if (!ref) {
      ui.submit.disabled = false;
      toast(t('Not connected to the server right now: try again in a moment.'), 'error');
    }
  });

  return {
    reset: reset,
    startEdit: startEdit,
    editing: function () { return editing; },
    relabel: relabel
  };
}
