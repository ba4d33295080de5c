//! What a session leaves behind: the results as CSV for a spreadsheet, and
//! a self-contained printable report (HTML with inline SVG charts) to attach
//! to the report of the event. Both are built from the live state, so they
//! can be downloaded at any moment, not only after the session.

use std::fmt::Write;

use crate::domain::{KindName, Question, QuestionState, Session, TallyBody};

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
    let t = q.tally();
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

/// A CSV field: quoted when it must be, and defused when a spreadsheet would
/// take it for a formula.
fn csv_field(cell: Cell<'_>) -> String {
    let s = match cell {
        Cell::Number(n) => {
            debug_assert!(n.parse::<f64>().is_ok(), "not a number: {n:?}");
            return n.to_owned();
        }
        Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Cell::Text(s) => s.to_owned(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(out: &mut String, cells: &[Cell<'_>]) {
    let line: Vec<String> = cells.iter().map(|c| csv_field(*c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// The column names of the CSV export.
pub const CSV_COLUMNS: [&str; 11] = [
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
];

/// The results as CSV: UTF-8 with a byte-order mark (so spreadsheets read
/// accents right), CRLF line ends, one row per question and option, value,
/// word or answer. For a scale, a last row `mean`; for a ranking, `count`
/// holds the Borda points. Text cells a spreadsheet would run as formulas
/// (starting with `=`, `+`, `-`, `@`, a tab or a CR) get a leading
/// apostrophe; numbers (counts, percents, scale values such as -2, means)
/// are written as numbers.
pub fn csv(s: &Session) -> String {
    use Cell::{Number, Text};
    let mut out = String::from("\u{feff}");
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
            ]);
            csv_line(&mut out, &fields);
        }
        if let Some(mean) = q.tally().mean() {
            let m = format!("{mean:.2}");
            let mut fields: Vec<Cell> = head.to_vec();
            fields.extend([Text("mean"), Text(""), Number(&m), Text(""), Text("")]);
            csv_line(&mut out, &fields);
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
            ],
        );
    }
    out
}

/// The board's items, most upvoted first, then oldest first.
pub fn qa_by_upvotes(s: &Session) -> Vec<&crate::domain::qa::QaItem> {
    s.qa.by_upvotes()
}

// ---- the report -----------------------------------------------------------------

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

/// Okabe–Ito: told apart by people with every common colour-vision deficiency.
const PALETTE: [&str; 8] = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999",
];

fn bar_chart(rows: &[Row], colours: &[Option<String>]) -> String {
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0).max(1);
    let (bar_h, gap, label_w, width) = (22, 8, 240, 640);
    let height = rows.len() * (bar_h + gap) + gap;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = gap + i * (bar_h + gap);
        let w = ((width - label_w - 90) as f64 * r.count as f64 / max as f64).round() as usize;
        let colour = colours
            .get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_owned());
        let mut label: String = format!("{} {}", r.item, r.label)
            .trim()
            .chars()
            .take(34)
            .collect();
        if r.correct {
            label.push_str(" \u{2713}");
        }
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{label}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{bar_h}\" fill=\"{colour}\" stroke=\"#333\" stroke-width=\"0.5\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"13\">{count} ({pct:.0}%)</text>",
            ty = y + 16,
            label = esc(&label),
            colour = esc(&colour),
            tx = label_w + w + 6,
            count = r.count,
            pct = r.percent,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Cumulative participants over the session, as a step chart.
fn participation_chart(s: &Session, now: i64) -> String {
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
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <path d=\"{d}\" fill=\"none\" stroke=\"#0072B2\" stroke-width=\"2\"/>\
         <line x1=\"40\" y1=\"{base}\" x2=\"{w}\" y2=\"{base}\" stroke=\"#999\"/>\
         <text x=\"0\" y=\"{top}\" font-size=\"12\">{total}</text><text x=\"0\" y=\"{base}\" font-size=\"12\">0</text>\
         <text x=\"40\" y=\"{h}\" font-size=\"12\">{from}</text><text x=\"{right}\" y=\"{h}\" font-size=\"12\" text-anchor=\"end\">{to}</text></svg>",
        base = h - 20.0,
        top = 14,
        total = times.len(),
        from = utc(start),
        to = utc(end),
        right = w,
    )
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc;padding-bottom:.2em}\
.meta{color:#444}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
td.n{text-align:right}.digest{font-family:monospace;word-break:break-all;font-size:.9em}section{break-inside:avoid}\
@media print{body{margin:0;max-width:none}a{color:inherit}}";

/// The report: title, date, each question with its chart, counts and
/// voters, participation over time, and the audit digest. No script, no
/// external resource: it prints and attaches as it is.
pub fn report(s: &Session, digest: &str, now: i64) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} \u{2014} results</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{title}</h1><p class=\"meta\">Session {code} \u{b7} started {created} \u{b7} report of {now} \u{b7} {people} participants \u{b7} {nq} questions</p>",
        title = esc(&s.title),
        code = esc(&s.code),
        created = utc(s.created_at),
        now = utc(now),
        people = s.participants().len(),
        nq = s.questions().len(),
    );
    for (n, q) in s.questions().iter().enumerate() {
        let t = q.tally();
        let state = match q.state {
            QuestionState::Draft => "not asked",
            QuestionState::Open => "open",
            QuestionState::Closed => "closed",
        };
        let _ = write!(
            h,
            "<section><h2>{num}. {prompt}</h2><p class=\"meta\">{kind} \u{b7} {state} \u{b7} {voters} voters",
            num = n + 1,
            prompt = esc(&q.spec.prompt),
            kind = q.spec.kind.name().as_str(),
            voters = t.voters,
        );
        if let Some(mean) = t.mean() {
            let _ = write!(h, " \u{b7} mean {mean:.2}");
        }
        if q.spec.kind.name() == KindName::Ranking {
            h.push_str(
                " \u{b7} Borda points: the first place of n options scores n\u{2212}1, the last 0",
            );
        }
        h.push_str("</p>");
        let rows = rows(q);
        match q.spec.kind.name() {
            KindName::Open => {
                h.push_str("<ul>");
                for r in &rows {
                    let _ = write!(h, "<li>{}</li>", esc(&r.label));
                }
                h.push_str("</ul>");
            }
            kind => {
                let shown: Vec<Row> = if kind == KindName::Wordcloud {
                    rows.into_iter().take(30).collect()
                } else {
                    rows
                };
                let colours: Vec<Option<String>> = q
                    .spec
                    .kind
                    .options()
                    .map(|o| o.iter().map(|x| x.colour.clone()).collect())
                    .unwrap_or_default();
                h.push_str(&bar_chart(&shown, &colours));
                h.push_str("<table><tr><th></th><th>answer</th><th>count</th><th>%</th></tr>");
                for r in &shown {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td></tr>",
                        esc(&r.item),
                        esc(&r.label),
                        if r.correct { " \u{2713} correct" } else { "" },
                        r.count,
                        r.percent
                    );
                }
                h.push_str("</table>");
            }
        }
        h.push_str("</section>");
    }
    let items = qa_by_upvotes(s);
    if !items.is_empty() {
        h.push_str("<section><h2>Questions from the room</h2><table><tr><th>upvotes</th><th>question</th><th>asked by</th><th>status</th></tr>");
        for i in items {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                i.upvoters.len(),
                esc(&i.text),
                esc(i.name.as_deref().unwrap_or("anonymous")),
                i.status.as_str()
            );
        }
        h.push_str("</table></section>");
    }
    let _ = write!(
        h,
        "<section><h2>Participation</h2>{chart}</section>\
         <section><h2>Audit</h2><p>Digest of the journal records behind these results (SHA-256 chain):</p>\
         <p class=\"digest\">{digest}</p><p class=\"meta\">Check it with <code>handsup verify DATA_DIR</code> on the server's data directory: \
         it recomputes the chain and every tally from the ballots.</p></section></body></html>",
        chart = participation_chart(s, now),
        digest = esc(digest),
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_544_000_000_000), "2018-12-05 08:53 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
