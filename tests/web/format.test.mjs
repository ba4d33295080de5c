// Small pure helpers: codes, letters, countdowns, colours, the ordered ramp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  codeFromPath, definitionKey, formatRemaining, letter, optionLabel, pct, spacedCode
} from '../../web/assets/format.js';
import { PALETTE, luminance, optionColour, parseColour, textColourFor } from '../../web/assets/colour.js';
import { RAMP, rampColour } from '../../web/assets/ramp.js';

test('the session code is read from the start of the path only', () => {
  assert.equal(codeFromPath('/123456'), '123456');
  assert.equal(codeFromPath('/123456/screen'), '123456');
  assert.equal(codeFromPath('/1234567'), null);
  assert.equal(codeFromPath('/assets/123456'), null);
  assert.equal(spacedCode('123456'), '123 456');
  assert.equal(spacedCode('12'), '12');
});

test('options are lettered A to Z, then AA on', () => {
  assert.deepEqual([0, 1, 25, 26, 27, 51, 52].map(letter), ['A', 'B', 'Z', 'AA', 'AB', 'AZ', 'BA']);
  assert.equal(optionLabel('Yes'), 'Yes');
  assert.equal(optionLabel({ label: 'No' }), 'No');
  assert.equal(optionLabel(null), '');
});

test('a countdown rounds up to the second and never goes below zero', () => {
  assert.equal(formatRemaining(0), '0:00');
  assert.equal(formatRemaining(1), '0:01');
  assert.equal(formatRemaining(59001), '1:00');
  assert.equal(formatRemaining(125000), '2:05');
  assert.equal(formatRemaining(-5000), '0:00');
  assert.equal(pct(1, 3), 33);
  assert.equal(pct(5, 0), 0);
});

test('a change of state does not change the definition key, a change of wording does', () => {
  const q = { kind: 'single', prompt: 'A?', options: ['x', 'y'], state: 'draft' };
  assert.equal(definitionKey(q), definitionKey({ ...q, state: 'open', results_visible: true }));
  assert.notEqual(definitionKey(q), definitionKey({ ...q, prompt: 'B?' }));
});

test('option colours come from the palette unless the question gives its own', () => {
  assert.equal(optionColour({}, 0).bg, PALETTE[0]);
  assert.equal(optionColour({}, PALETTE.length).bg, PALETTE[0]);
  assert.deepEqual(optionColour({ colours: ['#123'] }, 0), { bg: 'rgb(17,34,51)', fg: '#fff' });
  assert.deepEqual(parseColour('#FFFFFF'), [255, 255, 255]);
  assert.equal(parseColour('url(x)'), null);
  assert.equal(textColourFor('#ffff00'), '#000');
  assert.equal(textColourFor('#000080'), '#fff');
});

test('the ramp of ordered values gets lighter at every step, and spans its ends to ends', () => {
  assert.equal(RAMP.length, 11, 'one colour per step of the longest scale');
  for (const c of RAMP) assert.match(c, /^#[0-9A-F]{6}$/);
  const light = RAMP.map((c) => luminance(parseColour(c)));
  for (let i = 1; i < light.length; i++) assert.ok(light[i] > light[i - 1], `step ${i} is lighter than step ${i - 1}`);
  // A five-step scale: the two ends, then evenly between.
  assert.deepEqual([0, 1, 2, 3, 4].map((k) => rampColour(k, 5)), [RAMP[0], RAMP[3], RAMP[5], RAMP[8], RAMP[10]]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => rampColour(k, 11)), RAMP.slice());
  assert.equal(rampColour(0, 1), RAMP[5], 'one step alone takes the middle');
  assert.equal(rampColour(9, 5), RAMP[10], 'past the end stays at the end');
  assert.equal(rampColour(1, 2), RAMP[10]);
});
