// The colours of ordered values: the steps of a scale (1 to 5, 0 to 10) and
// the places of a ranking (1st, 2nd…), from low to high. Eleven steps of
// viridis, dark violet to yellow: its lightness rises evenly, so the order
// reads in grey and with any common colour blindness, where the option palette
// (palette.js) would give unordered hues. This file is the one list: the pages
// import it, and the printable report (src/export.rs) reads the same entries.
// One '#RRGGBB' string per entry.
export const RAMP = Object.freeze([
  '#440154', '#482475', '#414487', '#355F8D', '#2A788E', '#21918C',
  '#22A884', '#44BF70', '#7AD151', '#BDDF26', '#FDE725'
]);

// The colour of step k (0-based) of n ordered steps: the ends of the ramp for
// the ends of the scale, evenly spaced between; one step alone takes the middle.
export function rampColour(k, n) {
  const last = RAMP.length - 1;
  if (!(n > 1)) return RAMP[Math.round(last / 2)];
  const at = Math.round((Math.max(0, Math.min(n - 1, k)) * last) / (n - 1));
  return RAMP[at];
}
