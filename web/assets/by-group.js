// Which questions are shown by group, and what a view needs to draw one: a
// few lines every view loads, apart from breakdown.js which draws it (the
// phone loads that only when a breakdown is first shown).

// The kinds a breakdown is drawn for (the server groups no other).
export const GROUPABLE = ['single', 'multiple', 'scale', 'ranking'];

// What a view needs to draw question q's breakdown, or null when it has none
// to show: q is revealed, has `by`, and its tally carries `groups`.
// questions: the view's question list (to find the segment question).
export function breakdownOf(q, tally, questions) {
  if (!q || !q.results_visible || !q.by || GROUPABLE.indexOf(q.kind) === -1) return null;
  if (!tally || !Array.isArray(tally.groups)) return null;
  let seg = null;
  for (let i = 0; i < questions.length; i++) if (questions[i].id === q.by) seg = questions[i];
  return { seg: seg, groups: tally.groups };
}
