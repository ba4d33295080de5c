// The colours of answer options, in order: option 1 takes the first, option 15
// the first again. Okabe-Ito first, then Paul Tol's muted set: both colour-blind
// safe. This file is the one list: the pages import it (through colour.js), and
// the printable report (src/export.rs) reads the same entries, so an option has
// the same colour on a phone, on the projector and on paper. One '#RRGGBB'
// string per entry.
export const PALETTE = Object.freeze([
  '#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7',
  '#332288', '#88CCEE', '#44AA99', '#999933', '#882255', '#DDCC77', '#AA4499'
]);
