//! What a session leaves behind: the results as CSV for a spreadsheet, and
//! a self-contained printable report (HTML with inline SVG charts) to attach
//! to the report of the event. Both are built from the live state, so they
//! can be downloaded at any moment, not only after the session. The `csv`
//! crate writes the CSV; `maud` writes the report's HTML, escaping every
//! text by construction; options are coloured from the pages' own palette.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::LazyLock;

use maud::{html, Markup, PreEscaped};

use crate::domain::{floor, KindName, Question, QuestionState, Session, Tally, TallyBody};

/// One group of a breakdown of a question by a segment question, the
/// session's anonymity floor applied: its label, and its tally unless
/// suppressed.
struct Group<'a> {
    label: &'a str,
    tally: Option<Tally>,
}

/// Every breakdown of question `q`: by each segment question of the
/// session (but itself), with the segment's number in the running order.
fn breakdowns<'a>(s: &'a Session, q: &Question) -> Vec<(usize, &'a Question, Vec<Group<'a>>)> {
    if !q.groupable() {
        return Vec::new();
    }
    s.questions()
        .iter()
        .enumerate()
        .filter(|(_, seg)| seg.spec.segment && seg.id != q.id)
        .map(|(n, seg)| {
            let tallies = q.groups_by(seg);
            let shown = floor(&tallies, s.settings.min_group);
            let options = seg.spec.kind.options().unwrap_or(&[]);
            let groups = tallies
                .into_iter()
                .zip(shown)
                .zip(options)
                .map(|((t, shown), o)| Group {
                    label: &o.label,
                    tally: shown.then_some(t),
                })
                .collect();
            (n, seg, groups)
        })
        .collect()
}

/// The letter shown beside option `i`: A, B, C...
pub fn letter(i: usize) -> char {
    (b'A' + (i % 26) as u8) as char
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

/// One labelled count of a question's results, as both exports show them.
struct Row {
    item: String,
    /// `item` is a number (a scale value), not a letter, a word or an id.
    item_is_number: bool,
    label: String,
    count: u64,
    /// Share of the question's voters (of the points, for a ranking).
    percent: f64,
    correct: bool,
}

fn rows(q: &Question) -> Vec<Row> {
    rows_of(q, q.tally())
}

/// The rows of tally `t` of question `q` (its own, or one group's).
fn rows_of(q: &Question, t: &Tally) -> Vec<Row> {
    let voters = t.voters;
    let correct = q.spec.kind.correct().unwrap_or(&[]);
    let options = q.spec.kind.options().unwrap_or(&[]);
    match &t.body {
        TallyBody::Counts(c) => c
            .iter()
            .enumerate()
            .map(|(i, n)| Row {
                item: letter(i).to_string(),
                item_is_number: false,
                label: options.get(i).map(|o| o.label.clone()).unwrap_or_default(),
                count: *n,
                percent: percent(*n, voters),
                correct: correct.contains(&(i as u8)),
            })
            .collect(),
        TallyBody::Scale { min, counts, .. } => {
            let (min_label, max_label) = match &q.spec.kind {
                crate::domain::Kind::Scale {
                    min_label,
                    max_label,
                    ..
                } => (min_label.clone(), max_label.clone()),
                _ => (None, None),
            };
            let last = counts.len().saturating_sub(1);
            counts
                .iter()
                .enumerate()
                .map(|(i, n)| Row {
                    item: (min + i as i32).to_string(),
                    item_is_number: true,
                    label: match i {
                        0 => min_label.clone().unwrap_or_default(),
                        i if i == last => max_label.clone().unwrap_or_default(),
                        _ => String::new(),
                    },
                    count: *n,
                    percent: percent(*n, voters),
                    correct: false,
                })
                .collect()
        }
        TallyBody::Words(_) => t
            .top_words(usize::MAX)
            .into_iter()
            .map(|(w, n)| Row {
                item: String::new(),
                item_is_number: false,
                label: w.to_owned(),
                count: n,
                percent: percent(n, voters),
                correct: false,
            })
            .collect(),
        TallyBody::Open(_) => t
            .newest_entries(usize::MAX)
            .into_iter()
            .rev()
            .map(|(id, text, _)| Row {
                item: id.to_string(),
                item_is_number: false,
                label: text.to_owned(),
                count: 1,
                percent: percent(1, voters),
                correct: false,
            })
            .collect(),
        TallyBody::Scores(s) => {
            let total: u64 = s.iter().sum();
            s.iter()
                .enumerate()
                .map(|(i, n)| Row {
                    item: letter(i).to_string(),
                    item_is_number: false,
                    label: options.get(i).map(|o| o.label.clone()).unwrap_or_default(),
                    count: *n,
                    percent: percent(*n, total),
                    correct: false,
                })
                .collect()
        }
    }
}

// ---- CSV ----------------------------------------------------------------------

/// One CSV cell. Text (titles, prompts, labels, words, answers, names,
/// ids) is defused when a spreadsheet would take it for a formula; a number
/// the server wrote (a count, a scale value such as -2, a mean) stays a
/// number, sign included.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Text(&'a str),
    Number(&'a str),
}

impl Cell<'_> {
    /// The cell's text as written: a number as it is, text with a leading
    /// apostrophe when a spreadsheet would take it for a formula. Quoting is
    /// the CSV writer's business.
    fn defused(&self) -> Cow<'_, str> {
        match *self {
            Cell::Number(n) => {
                debug_assert!(n.parse::<f64>().is_ok(), "not a number: {n:?}");
                Cow::Borrowed(n)
            }
            Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
                Cow::Owned(format!("'{s}"))
            }
            Cell::Text(s) => Cow::Borrowed(s),
        }
    }
}

/// The CSV writer: commas, CRLF line ends, quotes only where a field holds a
/// comma, a quote or a line break.
fn csv_writer(out: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

fn csv_line(out: &mut csv::Writer<Vec<u8>>, cells: &[Cell<'_>]) {
    for c in cells {
        out.write_field(c.defused().as_bytes())
            .expect("writing to memory cannot fail");
    }
    out.write_record(None::<&[u8]>)
        .expect("writing to memory cannot fail");
}

/// The column names of the CSV export.
pub const CSV_COLUMNS: [&str; 13] = [
    "question",
    "question_id",
    "kind",
    "prompt",
    "state",
    "voters",
    "item",
    "label",
    "count",
    "percent",
    "correct",
    "segment",
    "group",
];

/// The results as CSV: UTF-8 with a byte-order mark (so spreadsheets read
/// accents right), CRLF line ends, one row per question and option, value,
/// word or answer. For a scale, a last row `mean`; for a ranking, `count`
/// holds the Borda points. Text cells a spreadsheet would run as formulas
/// (starting with `=`, `+`, `-`, `@`, a tab or a CR) get a leading
/// apostrophe; numbers (counts, percents, scale values such as -2, means)
/// are written as numbers.
///
/// Each breakdown of a question by a segment question follows its rows:
/// the same rows for each group, with `voters` the group's, `segment` the
/// segment question's number and `group` the group's label. A group under
/// the anonymity floor is one row with no numbers at all.
pub fn csv(s: &Session) -> String {
    use Cell::{Number, Text};
    let mut out = csv_writer("\u{feff}".as_bytes().to_vec());
    let header: Vec<Cell> = CSV_COLUMNS.iter().map(|c| Text(c)).collect();
    csv_line(&mut out, &header);
    for (n, q) in s.questions().iter().enumerate() {
        let number = (n + 1).to_string();
        let id = q.id.to_string();
        let voters = q.tally().voters.to_string();
        let head = [
            Number(&number),
            Text(&id),
            Text(q.spec.kind.name().as_str()),
            Text(&q.spec.prompt),
            Text(q.state.as_str()),
            Number(&voters),
        ];
        let quiz = q.spec.kind.correct().is_some();
        for r in rows(q) {
            let count = r.count.to_string();
            let pct = format!("{:.1}", r.percent);
            let correct = if quiz {
                if r.correct {
                    "yes"
                } else {
                    "no"
                }
            } else {
                ""
            };
            let item = if r.item_is_number {
                Number(&r.item)
            } else {
                Text(&r.item)
            };
            let mut fields: Vec<Cell> = head.to_vec();
            fields.extend([
                item,
                Text(&r.label),
                Number(&count),
                Number(&pct),
                Text(correct),
                Text(""),
                Text(""),
            ]);
            csv_line(&mut out, &fields);
        }
        if let Some(mean) = q.tally().mean() {
            let m = format!("{mean:.2}");
            let mut fields: Vec<Cell> = head.to_vec();
            fields.extend([
                Text("mean"),
                Text(""),
                Number(&m),
                Text(""),
                Text(""),
                Text(""),
                Text(""),
            ]);
            csv_line(&mut out, &fields);
        }
        let suppressed = format!("suppressed: fewer than {} voters", s.settings.min_group);
        for (sn, _, groups) in breakdowns(s, q) {
            let segment = (sn + 1).to_string();
            for g in groups {
                let Some(t) = &g.tally else {
                    let mut fields: Vec<Cell> = head[..5].to_vec();
                    fields.extend([
                        Text(""),
                        Text(""),
                        Text(&suppressed),
                        Text(""),
                        Text(""),
                        Text(""),
                        Number(&segment),
                        Text(g.label),
                    ]);
                    csv_line(&mut out, &fields);
                    continue;
                };
                let voters = t.voters.to_string();
                let mut head = head.to_vec();
                head[5] = Number(&voters);
                for r in rows_of(q, t) {
                    let count = r.count.to_string();
                    let pct = format!("{:.1}", r.percent);
                    let item = if r.item_is_number {
                        Number(&r.item)
                    } else {
                        Text(&r.item)
                    };
                    let mut fields = head.clone();
                    fields.extend([
                        item,
                        Text(&r.label),
                        Number(&count),
                        Number(&pct),
                        Text(""),
                        Number(&segment),
                        Text(g.label),
                    ]);
                    csv_line(&mut out, &fields);
                }
                if let Some(mean) = t.mean() {
                    let m = format!("{mean:.2}");
                    let mut fields = head.clone();
                    fields.extend([
                        Text("mean"),
                        Text(""),
                        Number(&m),
                        Text(""),
                        Text(""),
                        Number(&segment),
                        Text(g.label),
                    ]);
                    csv_line(&mut out, &fields);
                }
            }
        }
    }
    // The Q&A board: one row per item, its status as state, its upvotes as count.
    for item in qa_by_upvotes(s) {
        let (id, upvotes) = (item.id.to_string(), item.upvoters.len().to_string());
        let name = item.name.clone().unwrap_or_default();
        csv_line(
            &mut out,
            &[
                Text("Q&A"),
                Text(&id),
                Text("qa"),
                Text(&item.text),
                Text(item.status.as_str()),
                Text(""),
                Text(""),
                Text(&name),
                Number(&upvotes),
                Text(""),
                Text(""),
                Text(""),
                Text(""),
            ],
        );
    }
    let bytes = out.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the CSV writer writes the UTF-8 it is given")
}

/// The board's items, most upvoted first, then oldest first.
pub fn qa_by_upvotes(s: &Session) -> Vec<&crate::domain::qa::QaItem> {
    s.qa.by_upvotes()
}

// ---- the report -----------------------------------------------------------------

/// `YYYY-MM-DD HH:MM UTC` for a time in ms since the epoch.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The quoted '#RRGGBB' strings of the one `[...]` list of a page script
/// (`file` names it in the messages), comments aside.
fn colour_list(js: &str, file: &str) -> Vec<String> {
    let code: String = js
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let list = code
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .unwrap_or_else(|| panic!("{file} holds a [...] list"))
        .0;
    let colours: Vec<String> = list
        .split('\'')
        .filter(|s| s.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert!(!colours.is_empty(), "{file} holds no colour");
    colours
}

/// The option colours the pages use, read from the file they load
/// (`web/assets/palette.js`), so option `i` has the same colour in the
/// report as on the phones and the projector.
pub fn palette() -> &'static [String] {
    static PALETTE: LazyLock<Vec<String>> = LazyLock::new(|| {
        let js = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/assets/palette.js"
        ));
        colour_list(js, "palette.js")
    });
    &PALETTE
}

/// The colour of option `i` with no colour of its own.
pub fn option_colour(i: usize) -> &'static str {
    let p = palette();
    &p[i % p.len()]
}

/// The colours of ordered values (a scale's steps), low to high, read from
/// the file the pages load (`web/assets/ramp.js`).
pub fn ramp() -> &'static [String] {
    static RAMP: LazyLock<Vec<String>> = LazyLock::new(|| {
        let js = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/assets/ramp.js"));
        colour_list(js, "ramp.js")
    });
    &RAMP
}

/// The colour of step `k` (from 0) of `n` ordered steps, as `rampColour` in
/// `ramp.js` picks it: the ends of the ramp for the ends, evenly spaced
/// between (rounded half away from zero, as `Math.round` does for these
/// positive values); one step alone takes the middle.
pub fn ramp_colour(k: usize, n: usize) -> &'static str {
    let r = ramp();
    let last = r.len() - 1;
    if n < 2 {
        return &r[(last as f64 / 2.0).round() as usize];
    }
    let k = k.min(n - 1);
    &r[((k * last) as f64 / (n - 1) as f64).round() as usize]
}

/// The colour of each row of question `q`'s charts: a scale's steps from the
/// ramp, an option's own colour where it has one (else the palette's, see
/// `bar_chart`).
fn row_colours(q: &Question) -> Vec<Option<String>> {
    match &q.spec.kind {
        crate::domain::Kind::Scale { min, max, .. } => {
            let n = (i64::from(*max) - i64::from(*min) + 1).max(1) as usize;
            (0..n).map(|k| Some(ramp_colour(k, n).to_owned())).collect()
        }
        kind => kind
            .options()
            .map(|o| o.iter().map(|x| x.colour.clone()).collect())
            .unwrap_or_default(),
    }
}

fn bar_chart(rows: &[Row], colours: &[Option<String>]) -> Markup {
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
    let (bar_h, gap, label_w, width) = (22, 8, 240, 640);
    let height = rows.len() * (bar_h + gap) + gap;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img" {
            @for (i, r) in rows.iter().enumerate() {
                @let y = gap + i * (bar_h + gap);
                @let w = ((width - label_w - 90) as f64 * r.count as f64 / max as f64).round() as usize;
                @let colour = colours
                    .get(i)
                    .and_then(Option::as_deref)
                    .unwrap_or_else(|| option_colour(i));
                @let label: String = format!("{} {}", r.item, r.label).trim().chars().take(34).collect();
                text x="0" y=(y + 16) font-size="13" {
                    (label)
                    @if r.correct { " \u{2713}" }
                }
                rect x=(label_w) y=(y) width=(w) height=(bar_h) fill=(colour) stroke="#333" stroke-width="0.5" {}
                text x=(label_w + w + 6) y=(y + 16) font-size="13" {
                    (r.count) " (" (format!("{:.0}", r.percent)) "%)"
                }
            }
        }
    }
}

/// Cumulative participants over the session, as a step chart.
fn participation_chart(s: &Session, now: i64) -> Markup {
    let mut times: Vec<i64> = s.participants().iter().map(|p| p.joined_at).collect();
    times.sort_unstable();
    let (w, h) = (640.0, 160.0);
    let start = s
        .created_at
        .min(times.first().copied().unwrap_or(s.created_at));
    let end = now.max(start + 60_000);
    let n = times.len().max(1) as f64;
    let x = |t: i64| 40.0 + (w - 50.0) * (t - start) as f64 / (end - start) as f64;
    let y = |k: usize| h - 20.0 - (h - 30.0) * k as f64 / n;
    let mut d = format!("M{:.1},{:.1}", x(start), y(0));
    for (k, t) in times.iter().enumerate() {
        let _ = write!(d, " H{:.1} V{:.1}", x(*t), y(k + 1));
    }
    let _ = write!(d, " H{:.1}", x(end));
    let base = h - 20.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height=(h)
            viewBox={ "0 0 " (w) " " (h) } role="img" {
            path d=(d) fill="none" stroke="#0072B2" stroke-width="2" {}
            line x1="40" y1=(base) x2=(w) y2=(base) stroke="#999" {}
            text x="0" y="14" font-size="12" { (times.len()) }
            text x="0" y=(base) font-size="12" { "0" }
            text x="40" y=(h) font-size="12" { (utc(start)) }
            text x=(w) y=(h) font-size="12" text-anchor="end" { (utc(end)) }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}\
.meta{color:#444}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
td.n{text-align:right}h3{font-size:1em;margin:1.2em 0 .3em}h4{font-size:.95em;margin:.6em 0 .1em}.breakdown{break-inside:avoid}.digest{font-family:monospace;word-break:break-all;font-size:.9em}section{break-inside:avoid}\
@media print{body{margin:0;max-width:none}a{color:inherit}}";

/// One question: its heading, a line of facts, and its answers as a list
/// (open answers) or a bar chart with a table.
fn question_section(s: &Session, n: usize, q: &Question) -> Markup {
    let t = q.tally();
    let state = match q.state {
        QuestionState::Draft => "not asked",
        QuestionState::Open => "open",
        QuestionState::Closed => "closed",
    };
    let kind = q.spec.kind.name();
    let rows = rows(q);
    let shown = match kind {
        KindName::Wordcloud => &rows[..rows.len().min(30)],
        _ => &rows[..],
    };
    let colours = row_colours(q);
    html! {
        section {
            h2 { (n + 1) ". " (q.spec.prompt) }
            p.meta {
                (kind.as_str()) " \u{b7} " (state) " \u{b7} " (t.voters) " voters"
                @if let Some(mean) = t.mean() {
                    " \u{b7} mean " (format!("{mean:.2}"))
                }
                @if kind == KindName::Ranking {
                    " \u{b7} Borda points: the first place of n options scores n\u{2212}1, the last 0"
                }
            }
            @if kind == KindName::Open {
                ul { @for r in &rows { li { (r.label) } } }
            } @else {
                (bar_chart(shown, &colours))
                table {
                    tr { th {} th { "answer" } th { "count" } th { "%" } }
                    @for r in shown {
                        tr {
                            td { (r.item) }
                            td { (r.label) @if r.correct { " \u{2713} correct" } }
                            td.n { (r.count) }
                            td.n { (format!("{:.1}", r.percent)) }
                        }
                    }
                }
            }
            @for (sn, seg, groups) in breakdowns(s, q) {
                (breakdown_section(s, q, sn, seg, &groups, &colours))
            }
        }
    }
}

/// One breakdown of a question: a small chart per group, with its size;
/// a group under the anonymity floor is named, with no number.
fn breakdown_section(
    s: &Session,
    q: &Question,
    sn: usize,
    seg: &Question,
    groups: &[Group<'_>],
    colours: &[Option<String>],
) -> Markup {
    let min = s.settings.min_group;
    html! {
        div.breakdown {
            h3 { "By group: " (seg.spec.prompt) " (question " (sn + 1) ")" }
            @if min > 1 {
                p.meta {
                    "Groups of fewer than " (min) " voters are not shown, nor the next smallest \
                     group where the totals would give a smaller one away."
                }
            }
            @for g in groups {
                div.group {
                    @match &g.tally {
                        Some(t) => {
                            h4 {
                                (g.label) " \u{b7} n = " (t.voters)
                                @if let Some(mean) = t.mean() {
                                    " \u{b7} mean " (format!("{mean:.2}"))
                                }
                            }
                            (bar_chart(&rows_of(q, t), colours))
                        }
                        None => {
                            h4 { (g.label) }
                            p.meta.suppressed { "Not shown (anonymity floor of " (min) " voters)." }
                        }
                    }
                }
            }
        }
    }
}

/// The report: title, date, each question with its chart, counts and
/// voters, participation over time, and the audit digest. No script, no
/// external resource: it prints and attaches as it is. Every text a user
/// wrote goes through maud, which escapes it.
pub fn report(s: &Session, digest: &str, now: i64) -> String {
    let page = html! {
        (PreEscaped("<!doctype html>"))
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (s.title) " \u{2014} results" }
                meta name="viewport" content="width=device-width,initial-scale=1";
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (s.title) }
                (session_sections(s, digest, now))
            }
        }
    };
    page.into_string()
}

/// One session's part of an event's report: its title (linked from the
/// table of contents by `id="s-CODE"`) and everything its own report shows.
pub fn event_part(s: &Session, digest: &str, now: i64) -> String {
    html! {
        section.session id=(format!("s-{}", s.code)) {
            h1 { (s.title) }
            (session_sections(s, digest, now))
        }
    }
    .into_string()
}

/// One session of an event, as the event's report and CSV take it.
pub struct EventPart {
    pub code: String,
    pub title: String,
    /// `event_part` for the report, `csv` for the CSV.
    pub body: String,
}

/// The report of an event: its title, a table of contents of its sessions,
/// then each session as its own report shows it (results with their
/// breakdowns and anonymity floors, Q&A, participation, digest), one
/// after the other (each on a new page when printed).
pub fn event_report(title: &str, now: i64, parts: &[EventPart]) -> String {
    let page = html! {
        (PreEscaped("<!doctype html>"))
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " \u{2014} results" }
                meta name="viewport" content="width=device-width,initial-scale=1";
                style { (PreEscaped(STYLE)) (PreEscaped(EVENT_STYLE)) }
            }
            body {
                h1 { (title) }
                p.meta { "Event report of " (utc(now)) " \u{b7} " (parts.len()) " sessions" }
                nav.toc {
                    h2 { "Sessions" }
                    ol {
                        @for p in parts {
                            li { a href=(format!("#s-{}", p.code)) { (p.title) } " (" (p.code) ")" }
                        }
                    }
                }
                @for p in parts {
                    (PreEscaped(&p.body))
                }
            }
        }
    };
    page.into_string()
}

const EVENT_STYLE: &str = "section.session{border-top:2px solid #888;margin-top:2rem}\
    nav.toc ol{padding-left:1.5rem}@media print{section.session{break-before:page;border:0}}";

/// The CSV of an event: each session's CSV (as `csv` writes it) under one
/// header, its rows led by two columns, the session's code and title.
pub fn event_csv(parts: &[EventPart]) -> String {
    use Cell::Text;
    let mut out = csv_writer("\u{feff}".as_bytes().to_vec());
    let header: Vec<Cell> = ["session", "session_title"]
        .iter()
        .chain(CSV_COLUMNS.iter())
        .map(|c| Text(c))
        .collect();
    csv_line(&mut out, &header);
    for p in parts {
        let body = p.body.strip_prefix('\u{feff}').unwrap_or(&p.body);
        let mut rows = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(body.as_bytes());
        let lead = [Text(&p.code), Text(&p.title)];
        for row in rows.byte_records().flatten() {
            for c in &lead {
                out.write_field(c.defused().as_bytes())
                    .expect("writing to memory cannot fail");
            }
            // Already written by `csv`: formulas defused, numbers as numbers.
            for field in row.iter() {
                out.write_field(field)
                    .expect("writing to memory cannot fail");
            }
            out.write_record(None::<&[u8]>)
                .expect("writing to memory cannot fail");
        }
    }
    let bytes = out.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the CSV writer writes the UTF-8 it is given")
}

/// What a session's report shows under its title.
fn session_sections(s: &Session, digest: &str, now: i64) -> Markup {
    let items = qa_by_upvotes(s);
    html! {
                p.meta {
                    "Session " (s.code) " \u{b7} started " (utc(s.created_at))
                    " \u{b7} report of " (utc(now)) " \u{b7} " (s.participants().len())
                    " participants \u{b7} " (s.questions().len()) " questions"
                }
                @for (n, q) in s.questions().iter().enumerate() {
                    (question_section(s, n, q))
                }
                @if !items.is_empty() {
                    section {
                        h2 { "Questions from the room" }
                        table {
                            tr { th { "upvotes" } th { "question" } th { "asked by" } th { "status" } }
                            @for i in &items {
                                tr {
                                    td.n { (i.upvoters.len()) }
                                    td { (i.text) }
                                    td { (i.name.as_deref().unwrap_or("anonymous")) }
                                    td { (i.status.as_str()) }
                                }
                            }
                        }
                    }
                }
                section { h2 { "Participation" } (participation_chart(s, now)) }
                section {
                    h2 { "Audit" }
                    p { "Digest of the journal records behind these results (SHA-256 chain):" }
                    p.digest { (digest) }
                    p.meta {
                        "Check it with " code { "handsup verify DATA_DIR" } " on the server's data directory: \
                         it recomputes the chain and every tally from the ballots."
                    }
                }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell as the CSV export writes it.
    fn csv_field(cell: Cell<'_>) -> String {
        let mut out = csv_writer(Vec::new());
        // A lone empty field would be written `""`; a second cell keeps the
        // line what it is in the export, where every line has 11 cells.
        csv_line(&mut out, &[cell, Cell::Number("0")]);
        let line = String::from_utf8(out.into_inner().unwrap()).unwrap();
        line.strip_suffix(",0\r\n").unwrap().to_owned()
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let t = |s| csv_field(Cell::Text(s));
        assert_eq!(t("plain"), "plain");
        assert_eq!(t("a, b"), "\"a, b\"");
        assert_eq!(t("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(t("=1+1"), "'=1+1");
        assert_eq!(t("line\nbreak"), "\"line\nbreak\"");
        for (text, defused) in [
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
        ] {
            assert_eq!(t(text), defused, "text {text:?}");
        }
    }

    #[test]
    fn csv_numbers_stay_numbers() {
        let n = |s| csv_field(Cell::Number(s));
        assert_eq!(n("-2"), "-2");
        assert_eq!(n("-0.50"), "-0.50");
        assert_eq!(n("0"), "0");
        assert_eq!(n("33.3"), "33.3");
    }

    /// A scale from -2 to 2: its values, counts and mean are numbers in the
    /// CSV; a prompt or label that starts like a formula is still defused.
    #[test]
    fn csv_of_a_negative_scale_keeps_its_numbers() {
        use crate::domain::Limits;
        use crate::domain::{Kind, QuestionSpec, RawChoice, Settings};
        use std::collections::BTreeMap;
        use uuid::Uuid;

        let limits = Limits::default();
        let mut s = Session::new(
            Uuid::new_v4(),
            "123456".into(),
            "Mood".into(),
            "secret".into(),
            Settings::default(),
            0,
            &limits,
        )
        .unwrap();
        let spec = QuestionSpec {
            prompt: "-How was it?".into(),
            kind: Kind::Scale {
                min: -2,
                max: 2,
                min_label: Some("-awful".into()),
                max_label: Some("great".into()),
            },
            translations: BTreeMap::new(),
            segment: false,
        };
        let q = s.add_question(Uuid::new_v4(), spec, &limits).unwrap().id;
        s.open(q, 0, None).unwrap();
        for (k, v) in [-2, -2, -1, 2].into_iter().enumerate() {
            let p = s.join(Uuid::new_v4(), format!("t{k}"), 0, &limits).unwrap();
            s.vote(p, q, RawChoice::Int(v), (Uuid::nil(), 0)).unwrap();
        }
        let csv = csv(&s);
        let rows: Vec<Vec<&str>> = csv
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').collect())
            .collect();
        let items: Vec<(&str, &str)> = rows.iter().map(|r| (r[6], r[8])).collect();
        assert_eq!(
            items,
            [
                ("-2", "2"),
                ("-1", "1"),
                ("0", "0"),
                ("1", "0"),
                ("2", "1"),
                ("mean", "-0.75")
            ]
        );
        assert_eq!(rows[0][3], "'-How was it?", "the prompt is text: defused");
        assert_eq!(rows[0][7], "'-awful", "the label is text: defused");
        assert_eq!(rows[0][5], "4");
        assert_eq!(rows[0][9], "50.0");
    }

    /// Text and attribute values are escaped; an apostrophe needs no escape
    /// since every attribute is written between double quotes.
    #[test]
    fn html_is_escaped() {
        let hostile = "<img src=x onerror=\"a\">&'";
        assert_eq!(
            html! { p title=(hostile) { (hostile) } }.into_string(),
            "<p title=\"&lt;img src=x onerror=&quot;a&quot;&gt;&amp;'\">\
             &lt;img src=x onerror=&quot;a&quot;&gt;&amp;'</p>"
        );
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_544_000_000_000), "2018-12-05 08:53 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    /// A session touching every kind, hostile text, a quiz, a custom colour
    /// and a Q&A board; fixed ids and times so its exports are reproducible.
    fn sample() -> Session {
        use crate::domain::Limits;
        use crate::domain::{Kind, OptionItem, QuestionSpec, RawChoice, Settings};
        use std::collections::BTreeMap;
        use uuid::Uuid;

        let limits = Limits::default();
        let mut s = Session::new(
            Uuid::from_u128(1),
            "123456".into(),
            "Team day <b>\"R&D\"</b> it's".into(),
            "secret".into(),
            Settings::default(),
            1_700_000_000_000,
            &limits,
        )
        .unwrap();
        let opts = |labels: &[&str]| -> Vec<OptionItem> {
            labels
                .iter()
                .map(|l| OptionItem {
                    label: (*l).into(),
                    colour: None,
                })
                .collect()
        };
        let mut nine = opts(&["a", "b", "c", "d", "e", "f", "g", "h", "=cmd|' /C calc'!A0"]);
        nine[2].colour = Some("#123456".into());
        let specs = [
            Kind::Single {
                options: nine,
                correct: None,
            },
            Kind::Single {
                options: opts(&["Peer-to-peer", "Client, server", "Études \"terrain\""]),
                correct: Some(vec![0]),
            },
            Kind::Multiple {
                options: opts(&["+one", "@two", "-three"]),
                max_choices: 2,
                correct: None,
            },
            Kind::Scale {
                min: -2,
                max: 2,
                min_label: Some("-awful".into()),
                max_label: Some("great <3".into()),
            },
            Kind::Wordcloud { max_words: 3 },
            Kind::Open,
            Kind::Ranking {
                options: opts(&["time", "money", "people"]),
            },
        ];
        let mut ids = Vec::new();
        for (n, kind) in specs.into_iter().enumerate() {
            let spec = QuestionSpec {
                prompt: format!("Q{n} <script>alert({n})</script> = \"x\", y"),
                kind,
                translations: BTreeMap::new(),
                segment: false,
            };
            let id = Uuid::from_u128(100 + n as u128);
            s.add_question(id, spec, &limits).unwrap();
            ids.push(id);
        }
        let people: Vec<u32> = (0..4)
            .map(|k| {
                let at = 1_700_000_000_000 + 90_000 * k as i64;
                s.join(Uuid::from_u128(200 + k), format!("t{k}"), at, &limits)
                    .unwrap()
            })
            .collect();
        for id in &ids[..6] {
            s.open(*id, 1_700_000_100_000, None).unwrap();
        }
        let ballots: [[RawChoice; 6]; 4] = [
            [
                RawChoice::Int(7),
                RawChoice::Int(0),
                RawChoice::Ints(vec![0, 1]),
                RawChoice::Int(-2),
                RawChoice::Texts(vec!["Rust".into(), "=sum".into()]),
                RawChoice::Text("More <i>coffee</i>, please".into()),
            ],
            [
                RawChoice::Int(8),
                RawChoice::Int(1),
                RawChoice::Ints(vec![2]),
                RawChoice::Int(-1),
                RawChoice::Texts(vec!["rust".into(), "tea, milk".into()]),
                RawChoice::Text("-1+1".into()),
            ],
            [
                RawChoice::Int(7),
                RawChoice::Int(0),
                RawChoice::Ints(vec![1, 2]),
                RawChoice::Int(2),
                RawChoice::Texts(vec!["Go".into()]),
                RawChoice::Text("line\nbreak \"quoted\"".into()),
            ],
            [
                RawChoice::Int(2),
                RawChoice::Int(2),
                RawChoice::Ints(vec![0]),
                RawChoice::Int(2),
                RawChoice::Texts(vec!["Rust".into()]),
                RawChoice::Text("\tTabbed".into()),
            ],
        ];
        for (p, row) in people.iter().zip(ballots) {
            for (k, (id, raw)) in ids.iter().zip(row).enumerate() {
                let entry = (
                    Uuid::from_u128(300 + 10 * *p as u128 + k as u128),
                    1_700_000_200_000,
                );
                s.vote(*p, *id, raw, entry).unwrap();
            }
        }
        s.open(ids[6], 1_700_000_300_000, None).unwrap();
        for (p, order) in people.iter().zip([[0, 1, 2], [2, 0, 1], [0, 2, 1]]) {
            let entry = (Uuid::from_u128(400 + *p as u128), 1_700_000_300_000);
            s.vote(*p, ids[6], RawChoice::Ints(order.to_vec()), entry)
                .unwrap();
        }
        for id in &ids[..3] {
            s.close(*id).unwrap();
        }
        for (k, (text, name)) in [
            ("Why <b>not</b> & when?", Some("Zoë \"Z\"")),
            ("=HYPERLINK(\"x\")", None),
            ("Plain one", Some("Bob")),
        ]
        .into_iter()
        .enumerate()
        {
            s.qa.ask(
                Uuid::from_u128(500 + k as u128),
                people[k],
                text,
                name,
                1_700_000_400_000 + k as i64,
                false,
                100,
                100,
            )
            .unwrap();
        }
        s.qa.upvote(Uuid::from_u128(502), people[0], true).unwrap();
        s.qa.upvote(Uuid::from_u128(502), people[1], true).unwrap();
        s.qa.upvote(Uuid::from_u128(500), people[3], true).unwrap();
        s
    }

    /// The exports of `sample()`. The CSV is as the code wrote it before it
    /// went through the csv crate. The report differs from the hand-written
    /// HTML before maud in four ways only: `'` is no longer written `&#39;`,
    /// SVG shapes are closed with an end tag instead of `/>`, options 8
    /// and 9 take the pages' colours (see `palette()`), and the scale's five
    /// bars take the ramp's (see `ramp()`).
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export");

    #[test]
    fn csv_is_byte_identical_to_the_fixture() {
        let want = std::fs::read_to_string(format!("{FIXTURES}/sample.csv")).unwrap();
        assert_eq!(csv(&sample()), want);
    }

    #[test]
    fn report_is_byte_identical_to_the_fixture() {
        let want = std::fs::read_to_string(format!("{FIXTURES}/sample-report.html")).unwrap();
        assert_eq!(report(&sample(), "ab12", 1_700_000_600_000), want);
    }

    #[test]
    fn the_palette_is_the_pages_list() {
        let p = palette();
        assert_eq!(p.len(), 14, "{p:?}");
        for c in p {
            assert!(
                c.len() == 7 && c[1..].chars().all(|h| h.is_ascii_hexdigit()),
                "{c:?} is not #RRGGBB"
            );
        }
        assert_eq!(p[0], "#E69F00");
        assert_eq!(p[7], "#332288", "option 8 is indigo, as on the projector");
        assert_eq!(
            option_colour(14),
            "#E69F00",
            "option 15 starts the list again"
        );
    }

    #[test]
    fn the_ramp_is_the_pages_list() {
        let r = ramp();
        assert_eq!(
            r.len(),
            11,
            "one colour per step of the longest scale: {r:?}"
        );
        for c in r {
            assert!(
                c.len() == 7 && c[1..].chars().all(|h| h.is_ascii_hexdigit()),
                "{c:?} is not #RRGGBB"
            );
        }
        assert_eq!(r[0], "#440154", "the lowest step is viridis' dark violet");
        assert_eq!(r[10], "#FDE725", "the highest its yellow");
        let five: Vec<&str> = (0..5).map(|k| ramp_colour(k, 5)).collect();
        assert_eq!(
            five,
            [&r[0], &r[3], &r[5], &r[8], &r[10]],
            "as rampColour picks them"
        );
        assert_eq!(ramp_colour(0, 1), r[5], "one step alone takes the middle");
        assert_eq!(ramp_colour(7, 5), r[10], "past the end stays at the end");
    }

    /// A scale's bars take the ramp, low to high, in the report as on the
    /// pages; no step takes an option's colour.
    #[test]
    fn the_report_colours_a_scale_from_the_ramp() {
        let s = sample();
        let html = report(&s, "ab12", 1_700_000_600_000);
        let scale = s
            .questions()
            .iter()
            .position(|q| q.spec.kind.name() == KindName::Scale)
            .expect("the sample has a scale");
        let heading = format!("<h2>{}. ", scale + 1);
        let section = &html[html.find(&heading).unwrap()..];
        let chart = &section[..section.find("</svg>").unwrap()];
        let fills: Vec<&str> = chart
            .split("<rect ")
            .skip(1)
            .map(|r| {
                r.split("fill=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        let want: Vec<&str> = (0..5).map(|k| ramp_colour(k, 5)).collect();
        assert_eq!(fills, want, "steps -2 to 2");
    }

    /// Every option without a colour of its own is drawn in the report in
    /// the colour the pages give it; one with its own colour keeps it.
    #[test]
    fn the_report_colours_each_option_from_the_palette() {
        let s = sample();
        let html = report(&s, "ab12", 1_700_000_600_000);
        let first = &html[..html.find("</svg>").unwrap()];
        let fills: Vec<&str> = first
            .split("<rect ")
            .skip(1)
            .map(|r| {
                r.split("fill=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(fills.len(), 9);
        for (i, fill) in fills.iter().enumerate() {
            let want = if i == 2 { "#123456" } else { option_colour(i) };
            assert_eq!(*fill, want, "option {}", i + 1);
        }
        assert_eq!(fills[7], "#332288");
    }
}
