// Option colours: the palette, custom colours from a deck, and the text
// colour (black or white) that reads best on each.

// The option colours, shared with the printable report.
import { PALETTE } from './palette.js';
export { PALETTE };

let colourCtx = null;
// Normalise any CSS colour to [r, g, b] (0..255), or null when it is not a colour.
// Hex colours are read here; names and functions are left to a canvas to parse.
export function parseColour(value) {
  if (typeof value !== 'string' || !value || value.length > 64) return null;
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
  if (m) {
    let hex = m[1];
    if (hex.length === 3) hex = hex.replace(/(.)/g, '$1$1');
    return [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16)];
  }
  if (!/^[a-z]+$|^rgba?\([\d\s.,%]+\)$|^hsla?\([\d\s.,%deg]+\)$/i.test(value.trim())) return null;
  try {
    if (!colourCtx) colourCtx = document.createElement('canvas').getContext('2d');
    if (!colourCtx) return null;
    colourCtx.fillStyle = '#010203';
    colourCtx.fillStyle = value;
    const out = colourCtx.fillStyle;
    if (out === '#010203') return null;
    if (out.charAt(0) === '#') return parseColour(out);
    const nums = out.match(/[\d.]+/g);
    if (!nums || nums.length < 3) return null;
    return [Math.round(+nums[0]), Math.round(+nums[1]), Math.round(+nums[2])];
  } catch (e) {
    return null;
  }
}

function channel(c) {
  c = c / 255;
  return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

export function luminance(rgb) {
  return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
}

// Black or white, whichever contrasts more with the background.
export function textColourFor(bg) {
  const rgb = Array.isArray(bg) ? bg : parseColour(bg);
  if (!rgb) return '#000';
  const l = luminance(rgb);
  const withWhite = 1.05 / (l + 0.05);
  const withBlack = (l + 0.05) / 0.05;
  return withBlack >= withWhite ? '#000' : '#fff';
}

// {bg, fg} for option i of question q.
export function optionColour(q, i) {
  const custom = q && Array.isArray(q.colours) ? q.colours[i] : null;
  const rgb = custom ? parseColour(custom) : null;
  const bg = rgb ? 'rgb(' + rgb.join(',') + ')' : PALETTE[i % PALETTE.length];
  return { bg: bg, fg: textColourFor(rgb || bg) };
}

export function paint(node, colour) {
  node.style.backgroundColor = colour.bg;
  node.style.color = colour.fg;
}
