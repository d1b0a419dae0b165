// The paint-with-words page of `ediff serve`: plain JavaScript, no build step, nothing loaded from elsewhere.
'use strict';

const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];
const WIDTH = 320; // canvas pixels across; masks are sent at this resolution

const $ = (id) => document.getElementById(id);
const state = {
  model: null,
  words: [],
  encoders: [],
  phrases: [],      // {phrase, colour, weight, layer: canvas, spans, error}
  active: -1,
  selection: null,  // {a, b} word indices
  wordsOf: null,    // the prompt the words were made of
  job: null,
  events: null,
  style: null,      // data URL
};

function setState(s) { document.body.dataset.state = s; }

function message(text, isError) {
  const m = $('message');
  m.textContent = text || '';
  m.className = isError ? 'error' : '';
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
  };
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    return {status: 0, json: {error: 'the server cannot be reached (is ediff serve still running?)'}};
  }
  let json = null;
  try { json = await r.json(); } catch (e) { json = {error: 'the server answered ' + r.status + ' without JSON'}; }
  return {status: r.status, json};
}

// ------------------------------------------------------------------ model

async function loadModel() {
  const {status, json} = await api('/api/model');
  if (status !== 200) { message(json.error, true); return; }
  state.model = json;
  const stages = json.stages.map((s) => `${s.name} ${s.width}x${s.height}`).join(' → ');
  $('model-info').textContent = `${json.name} · ${json.width}x${json.height} · ${stages} · encoders ${json.encoders.join(', ')}`;
  const sampler = $('sampler');
  for (const name of json.samplers) {
    const o = document.createElement('option');
    o.value = name; o.textContent = name;
    sampler.appendChild(o);
  }
  sampler.value = json.defaults.sampler;
  $('steps').value = json.defaults.steps;
  $('steps').max = json.limits.maxSteps;
  $('guidance').value = json.defaults.guidance;
  $('count').max = json.limits.maxCount;
  const c = $('canvas');
  c.width = WIDTH;
  c.height = Math.round(WIDTH * json.height / json.width);
  c.style.height = (320 * json.height / json.width) + 'px';
  render();
  refreshTokens();
}

// ------------------------------------------------------------------ words and phrases

let tokenTimer = null;
function scheduleTokens() {
  clearTimeout(tokenTimer);
  tokenTimer = setTimeout(refreshTokens, 250);
}

async function refreshTokens() {
  const prompt = $('prompt').value;
  const {status, json} = await api('/api/tokens', {prompt, phrases: state.phrases.map((p) => p.phrase)});
  if (status !== 200) { message(json.error, true); return; }
  if (prompt !== $('prompt').value) return; // a newer request is on its way
  // the same words again (e.g. an edit undone): keep the chips, so a click in between is not lost
  const same = prompt === state.wordsOf;
  state.wordsOf = prompt;
  state.words = json.words;
  state.encoders = json.encoders;
  json.phrases.forEach((p, i) => {
    const ph = state.phrases[i];
    if (ph && ph.phrase === p.phrase) { ph.spans = p.spans; ph.error = p.error || null; }
  });
  if (state.selection && Math.max(state.selection.a, state.selection.b) >= state.words.length) state.selection = null;
  if (!same) renderWords();
  renderPhrases();
}

function tokensOf(word, encoder) {
  return (encoder.tokens || []).filter((t) => t.start >= 0 && t.start < word.end && t.end > word.start);
}

function renderWords() {
  const box = $('words');
  box.textContent = '';
  state.words.forEach((w, i) => {
    const chip = document.createElement('span');
    chip.className = 'word';
    chip.dataset.index = i;
    chip.textContent = w.text;
    for (const e of state.encoders) {
      const toks = tokensOf(w, e);
      if (toks.length) {
        const t = document.createElement('span');
        t.className = 'tok';
        t.textContent = e.role + ' ' + toks.map((x) => x.text).join(' ');
        t.title = `${e.role} tokens ${toks[0].index}..${toks[toks.length - 1].index}`;
        chip.appendChild(t);
      }
    }
    const sel = state.selection;
    if (sel && i >= Math.min(sel.a, sel.b) && i <= Math.max(sel.a, sel.b)) chip.classList.add('selected');
    const painted = state.phrases.find((p) => phraseCovers(p.phrase, w));
    if (painted) { chip.classList.add('painted'); chip.style.setProperty('--c', painted.colour); }
    chip.addEventListener('click', (ev) => {
      if (ev.shiftKey && state.selection) state.selection.b = i; else state.selection = {a: i, b: i};
      renderWords();
    });
    box.appendChild(chip);
  });
  const truncated = state.encoders.filter((e) => e.truncated);
  const phrase = selectedPhrase();
  $('selection').textContent = phrase ? `selected: "${phrase}"` : 'no phrase selected';
  if (truncated.length) {
    $('selection').textContent += ` · dropped by ${truncated.map((e) => e.role + ': "' + e.dropped + '"').join(', ')}`;
  }
  $('add-phrase').disabled = !phrase;
}

function phraseCovers(phrase, word) {
  const prompt = $('prompt').value;
  const at = prompt.indexOf(phrase);
  return at >= 0 && word.start >= at && word.end <= at + phrase.length;
}

function selectedPhrase() {
  const s = state.selection;
  if (!s || !state.words.length) return '';
  const a = state.words[Math.min(s.a, s.b)];
  const b = state.words[Math.max(s.a, s.b)];
  return $('prompt').value.substring(a.start, b.end);
}

function addPhrase() {
  const phrase = selectedPhrase();
  if (!phrase) return;
  let i = state.phrases.findIndex((p) => p.phrase === phrase);
  if (i < 0) {
    const layer = document.createElement('canvas');
    layer.width = $('canvas').width;
    layer.height = $('canvas').height;
    const used = new Set(state.phrases.map((p) => p.colour));
    const colour = COLOURS.find((c) => !used.has(c)) || COLOURS[state.phrases.length % COLOURS.length];
    state.phrases.push({phrase, colour, weight: 0.4, layer, spans: {}, error: null});
    i = state.phrases.length - 1;
  }
  state.active = i;
  state.selection = null;
  renderWords();
  renderPhrases();
  refreshTokens();
  render();
}

function renderPhrases() {
  const list = $('phrases');
  list.textContent = '';
  state.phrases.forEach((p, i) => {
    const li = document.createElement('li');
    li.dataset.index = i;
    if (i === state.active) li.classList.add('active');
    if (p.error) { li.classList.add('invalid'); li.title = p.error; }
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = p.colour;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.phrase;
    const spans = document.createElement('span');
    spans.className = 'spans';
    spans.textContent = p.error ? p.error : Object.entries(p.spans || {}).map(([k, v]) => `${k} [${v[0]},${v[1]})`).join(' ');
    const w = document.createElement('input');
    w.type = 'number'; w.min = '0'; w.step = '0.1'; w.value = p.weight; w.title = 'weight w\'';
    w.dataset.field = `paints[${i}].weight`;
    w.addEventListener('change', () => { p.weight = parseFloat(w.value); });
    w.addEventListener('click', (ev) => ev.stopPropagation());
    const rm = document.createElement('button');
    rm.type = 'button'; rm.textContent = '×'; rm.title = 'remove this phrase';
    rm.addEventListener('click', (ev) => {
      ev.stopPropagation();
      state.phrases.splice(i, 1);
      state.active = Math.min(state.active, state.phrases.length - 1);
      renderPhrases(); renderWords(); render();
    });
    li.append(sw, name, w, spans, rm);
    li.addEventListener('click', () => { state.active = i; renderPhrases(); });
    list.appendChild(li);
  });
}

// ------------------------------------------------------------------ canvas

const scratch = document.createElement('canvas');

function render() {
  const c = $('canvas');
  const ctx = c.getContext('2d');
  ctx.globalCompositeOperation = 'source-over';
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  scratch.width = c.width;
  scratch.height = c.height;
  const s = scratch.getContext('2d');
  for (const p of state.phrases) {
    s.globalCompositeOperation = 'source-over';
    s.clearRect(0, 0, scratch.width, scratch.height);
    s.drawImage(p.layer, 0, 0);
    s.globalCompositeOperation = 'source-in';
    s.fillStyle = p.colour;
    s.fillRect(0, 0, scratch.width, scratch.height);
    ctx.globalAlpha = 0.6;
    ctx.drawImage(scratch, 0, 0);
  }
  ctx.globalAlpha = 1;
  if (!state.phrases.length) {
    ctx.fillStyle = '#999';
    ctx.font = '14px sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText('select a phrase, then paint here', c.width / 2, c.height / 2);
  }
}

let last = null;
function canvasPoint(ev) {
  const c = $('canvas');
  const r = c.getBoundingClientRect();
  return {x: (ev.clientX - r.left) * c.width / r.width, y: (ev.clientY - r.top) * c.height / r.height};
}

function stroke(from, to) {
  const p = state.phrases[state.active];
  if (!p) return;
  const ctx = p.layer.getContext('2d');
  ctx.globalCompositeOperation = $('eraser').checked ? 'destination-out' : 'source-over';
  ctx.strokeStyle = '#fff';
  ctx.fillStyle = '#fff';
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.lineWidth = parseInt($('brush').value, 10);
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
  render();
}

function setupCanvas() {
  const c = $('canvas');
  c.addEventListener('pointerdown', (ev) => {
    if (state.active < 0) { message('select a phrase of the prompt first, then paint where it should go', true); return; }
    c.setPointerCapture(ev.pointerId);
    last = canvasPoint(ev);
    stroke(last, last);
  });
  c.addEventListener('pointermove', (ev) => {
    if (!last) return;
    const p = canvasPoint(ev);
    stroke(last, p);
    last = p;
  });
  const end = () => { last = null; };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  $('clear').addEventListener('click', () => {
    const p = state.phrases[state.active];
    if (p) { p.layer.getContext('2d').clearRect(0, 0, p.layer.width, p.layer.height); render(); }
  });
  $('clear-all').addEventListener('click', () => {
    for (const p of state.phrases) p.layer.getContext('2d').clearRect(0, 0, p.layer.width, p.layer.height);
    render();
  });
}

// ------------------------------------------------------------------ generate

function number(id) {
  const v = $(id).value.trim();
  return v === '' ? null : Number(v);
}

function requestBody() {
  return {
    prompt: $('prompt').value,
    negativePrompt: $('negative').value,
    seed: $('random-seed').checked ? null : number('seed'),
    count: number('count'),
    steps: number('steps'),
    sampler: $('sampler').value || null,
    guidance: number('guidance'),
    t5: $('t5').checked,
    clip: $('clip').checked,
    style: state.style ? {image: state.style, strength: number('style-strength')} : null,
    paints: state.phrases.map((p) => ({phrase: p.phrase, weight: p.weight, mask: p.layer.toDataURL('image/png')})),
  };
}

function markBad(field) {
  document.querySelectorAll('.bad').forEach((e) => e.classList.remove('bad'));
  if (!field) return;
  let el = document.querySelector(`[data-field="${CSS.escape(field)}"]`);
  const m = /^paints\[(\d+)\]/.exec(field);
  if (!el && m) el = document.querySelector(`#phrases li[data-index="${m[1]}"]`);
  if (el) el.classList.add('bad');
}

async function generate() {
  markBad(null);
  message('');
  const {status, json} = await api('/api/generate', requestBody());
  if (status !== 202) {
    message((json.field ? json.field + ': ' : '') + json.error, true);
    markBad(json.field);
    if (status === 429) setState('busy');
    return;
  }
  state.job = json.id;
  document.body.dataset.job = json.id;
  setState('queued');
  $('generate').disabled = true;
  $('cancel').disabled = false;
  $('progress').textContent = 'queued';
  $('bar').value = 0;
  const es = new EventSource(json.events);
  state.events = es;
  es.addEventListener('status', (ev) => showStatus(JSON.parse(ev.data)));
  es.addEventListener('end', (ev) => { es.close(); finished(JSON.parse(ev.data)); });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) { message('lost the connection to the server', true); idle(); }
  };
}

function showStatus(s) {
  setState(s.state);
  const p = s.progress;
  if (p) {
    $('progress').textContent = `${p.stage} step ${p.step + 1}/${p.totalSteps} · sigma ${p.sigma.toFixed(4)} · expert ${p.expert}`;
    $('bar').value = (p.step + 1) / p.totalSteps;
  } else {
    $('progress').textContent = s.state;
  }
}

function idle() {
  $('generate').disabled = false;
  $('cancel').disabled = true;
}

function finished(s) {
  showStatus(s);
  idle();
  const secs = (s.millis / 1000).toFixed(1);
  if (s.state === 'done') {
    message(`${s.images.length} image(s) in ${secs} s`);
    s.images.forEach((img) => addResult(s, img));
  } else if (s.state === 'cancelled') {
    message(`cancelled after ${secs} s` + (s.progress ? ` at ${s.progress.stage} step ${s.progress.step + 1}/${s.progress.totalSteps}` : ''));
  } else {
    message(s.error || 'the generation failed', true);
  }
}

const SHOWN = ['seed', 'sampler', 'steps', 'guidance', 't5', 'clip', 'style_strength', 'stages'];

function addResult(s, img) {
  const card = document.createElement('div');
  card.className = 'result';
  card.dataset.job = s.id;
  card.dataset.seed = img.seed;
  const im = document.createElement('img');
  im.src = img.url;
  im.alt = s.parameters.prompt || '';
  im.width = 200;
  const dl = document.createElement('dl');
  const params = Object.assign({}, s.parameters, {seed: String(img.seed)});
  const add = (k, v) => {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v;
    dl.append(dt, dd);
  };
  add('prompt', params.prompt || '');
  if (params.negative_prompt) add('negative', params.negative_prompt);
  for (const k of SHOWN) if (params[k] !== undefined) add(k, params[k]);
  for (const k of Object.keys(params).filter((x) => x.startsWith('paint_'))) add(k.replace('_', ' '), params[k]);
  add('size', `${img.width}x${img.height}`);
  const a = document.createElement('a');
  a.href = img.url + '?download';
  a.download = `ediff-${img.seed}.png`;
  a.textContent = 'Download PNG';
  a.className = 'download';
  card.append(im, dl, a);
  $('results').prepend(card);
}

async function cancel() {
  if (!state.job) return;
  $('cancel').disabled = true;
  const {status, json} = await api(`/api/jobs/${state.job}/cancel`, {});
  if (status !== 202) message(json.error, true);
}

// ------------------------------------------------------------------ style image

function setupStyle() {
  $('style-file').addEventListener('change', () => {
    const f = $('style-file').files[0];
    if (!f) return;
    const r = new FileReader();
    r.onload = () => {
      state.style = r.result;
      $('style-preview').src = r.result;
      $('style-preview').hidden = false;
      $('style-remove').hidden = false;
    };
    r.readAsDataURL(f);
  });
  $('style-remove').addEventListener('click', () => {
    state.style = null;
    $('style-file').value = '';
    $('style-preview').hidden = true;
    $('style-remove').hidden = true;
  });
}

document.addEventListener('DOMContentLoaded', () => {
  setState('idle');
  $('prompt').addEventListener('input', scheduleTokens);
  $('add-phrase').addEventListener('click', addPhrase);
  $('generate').addEventListener('click', generate);
  $('cancel').addEventListener('click', cancel);
  $('random-seed').addEventListener('change', () => { $('seed').disabled = $('random-seed').checked; });
  setupCanvas();
  setupStyle();
  loadModel();
});
